//! A real Secret Service for the keyring tests: a private D-Bus session
//! with an unlocked gnome-keyring, ended when dropped.

use std::path::Path;
use std::process::{Command, Stdio};

/// A private D-Bus session with an unlocked gnome-keyring: a real Secret Service.
pub struct SecretService {
    pub bus: String,
    pids: Vec<u32>,
    _home: tempfile::TempDir,
}

impl SecretService {
    pub fn start() -> SecretService {
        let home = tempfile::tempdir().unwrap();
        let out = Command::new("dbus-daemon")
            .args([
                "--session",
                "--fork",
                "--print-address=1",
                "--print-pid=1",
                "--nopidfile",
            ])
            .output()
            .expect("dbus-daemon is required for the keyring test (apt-get install dbus)");
        let text = String::from_utf8(out.stdout).unwrap();
        let mut lines = text.lines();
        let bus = lines.next().expect("bus address").to_string();
        let pid: u32 = lines.next().expect("pid").trim().parse().unwrap();
        let mut child = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &bus)
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_RUNTIME_DIR", home.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("gnome-keyring-daemon is required for the keyring test (apt-get install gnome-keyring)");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(b"keyring-test-password").unwrap();
        }
        let status = child.wait().unwrap();
        assert!(status.success());
        SecretService {
            bus,
            pids: vec![pid],
            _home: home,
        }
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        // Ending the bus makes gnome-keyring-daemon exit with it.
        for pid in &self.pids {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

impl SecretService {
    /// Point a `crm` command at this Secret Service, with no passphrase to
    /// fall back on.
    pub fn attach<'c>(&self, c: &'c mut Command) -> &'c mut Command {
        c.env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .env_remove("CRM_PASSPHRASE")
    }

    /// The secret `service` holds for the keyring user a profile's
    /// `profile.json` names, read through the Secret Service's own client
    /// (`secret-tool`), trimmed; empty when there is none.
    pub fn secret_of(&self, service: &str, profile: &Path) -> String {
        let meta = std::fs::read_to_string(profile.join("profile.json")).expect("profile.json");
        let meta: serde_json::Value = serde_json::from_str(&meta).expect("profile.json is JSON");
        let user = meta["key"]["user"]
            .as_str()
            .expect("a keyring profile names its entry");
        let out = Command::new("secret-tool")
            .args(["lookup", "service", service, "username", user])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .output()
            .expect("secret-tool (libsecret-tools)");
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_string()
    }
}
