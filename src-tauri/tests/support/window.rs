//! The app in a real window, driven over WebDriver: what every end-to-end
//! test binary shares (one Xvfb, a fresh profile per app, screenshots,
//! and counts of the clicks and keys a test spends).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::{elements::Element, Client, ClientBuilder, Locator};

use crate::driver::{free_port, start_xvfb, stop_driver};

pub const WAIT: Duration = Duration::from_secs(30);
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One Xvfb for the whole test run (or the DISPLAY already set).
pub fn display() -> String {
    static DISPLAY: OnceLock<String> = OnceLock::new();
    DISPLAY
        .get_or_init(|| {
            if let Ok(d) = std::env::var("CRM_E2E_DISPLAY") {
                return d;
            }
            let (child, display) = start_xvfb();
            // Left running until the test process exits.
            std::mem::forget(child);
            display
        })
        .clone()
}

/// A running app with a WebDriver session and a fresh profile.
pub struct App {
    pub client: Client,
    driver: Child,
    pub name: &'static str,
    pub shots: usize,
    /// Clicks made so far (a dropdown opened and chosen counts two).
    pub clicks: std::sync::atomic::AtomicUsize,
    /// Keys typed so far.
    pub keys: std::sync::atomic::AtomicUsize,
    stopped: bool,
    profile: Option<tempfile::TempDir>,
}

impl App {
    pub async fn start(name: &'static str) -> App {
        Self::start_in(name, tempfile::tempdir().expect("temp dir")).await
    }

    /// Start on an existing profile folder (a restart keeps it).
    pub async fn start_in(name: &'static str, profile: tempfile::TempDir) -> App {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let port = free_port();
        let native = free_port();
        let driver = Command::new("tauri-driver")
            .args(["--port", &port.to_string(), "--native-port", &native.to_string()])
            .env("DISPLAY", display())
            .env("CRM_DATA_DIR", profile.path().join("profile"))
            .env("XDG_DATA_HOME", profile.path().join("xdg-data"))
            // No D-Bus: no keyring, so the first run asks for a passphrase.
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
            .env_remove("CRM_PASSPHRASE")
            // WebKit's snapshot (WebDriver screenshots) hangs without it.
            .env("CRM_WEBKIT_COMPOSITING", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tauri-driver is installed (cargo install tauri-driver --locked); scripts/install-deps does it");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": app_binary() }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        let client = loop {
            match ClientBuilder::rustls()
                .expect("rustls")
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if start.elapsed() < WAIT => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => panic!("no WebDriver session from tauri-driver: {e}"),
            }
        };
        App {
            client,
            driver,
            name,
            shots: 0,
            stopped: false,
            profile: Some(profile),
            clicks: Default::default(),
            keys: Default::default(),
        }
    }

    pub fn css(tid: &str) -> String {
        format!("[data-testid='{tid}']")
    }

    pub async fn find(&self, tid: &str) -> Element {
        let sel = Self::css(tid);
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(&sel))
            .await
            .unwrap_or_else(|e| panic!("[{}] no element {sel}: {e}", self.name))
    }

    pub async fn all(&self, tid: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(&Self::css(tid)))
            .await
            .unwrap_or_default()
    }

    pub async fn click(&self, tid: &str) {
        self.clicks
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // Retry: a button may be re-rendered between finding and clicking.
        let start = Instant::now();
        loop {
            let e = self.find(tid).await;
            match e.click().await {
                Ok(()) => return,
                Err(err) if start.elapsed() < WAIT => {
                    let _ = err;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(err) => panic!("[{}] cannot click {tid}: {err}", self.name),
            }
        }
    }

    pub async fn type_into(&self, tid: &str, text: &str) {
        self.keys
            .fetch_add(text.chars().count(), std::sync::atomic::Ordering::SeqCst);
        let e = self.find(tid).await;
        let _ = e.clear().await;
        e.send_keys(text)
            .await
            .unwrap_or_else(|err| panic!("[{}] cannot type into {tid}: {err}", self.name));
    }

    pub async fn select(&self, tid: &str, value: &str) {
        self.clicks
            .fetch_add(2, std::sync::atomic::Ordering::SeqCst);
        self.find(tid)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|err| panic!("[{}] cannot choose {value} in {tid}: {err}", self.name));
    }

    pub async fn text(&self, tid: &str) -> String {
        self.find(tid).await.text().await.unwrap_or_default()
    }

    /// Wait until the element's text satisfies `ok`.
    pub async fn wait_text(&self, tid: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let mut last = String::new();
            for e in self.all(tid).await {
                let t = e.text().await.unwrap_or_default();
                if ok(&t) {
                    return t;
                }
                last = t;
            }
            if start.elapsed() > WAIT {
                self.shot("timeout").await;
                panic!("[{}] {tid} never {what}; last text: {last:?}", self.name);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Wait until an element's whole text content (hidden parts and grid
    /// cells included, unlike WebDriver's visible text) passes `ok`.
    pub async fn wait_content(&self, tid: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let mut last = String::new();
            for e in self.all(tid).await {
                let t = e
                    .prop("textContent")
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                if ok(&t) {
                    return t;
                }
                last = t;
            }
            if start.elapsed() > WAIT {
                self.shot("timeout").await;
                panic!("[{}] {tid} never {what}; last content: {last:?}", self.name);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Fill in the new-contact form from the contacts screen and save it.
    pub async fn fill_new_contact(&self, first: &str, last: &str, email: &str) {
        self.click("nav-contacts").await;
        self.click("new-contact").await;
        self.type_into("field-first_name", first).await;
        self.type_into("field-last_name", last).await;
        self.type_into("field-email", email).await;
        self.click("save-contact").await;
    }

    /// Wait for a field's error, check it says `needle`, and screenshot it.
    pub async fn field_error(&mut self, tid: &str, needle: &str, shot: &str) {
        let err = self
            .wait_text(tid, "explains the error", |t| !t.trim().is_empty())
            .await;
        assert!(
            err.to_lowercase().contains(needle),
            "[{}] {tid} should say {needle:?}: {err}",
            self.name
        );
        self.snap(shot).await;
    }

    pub async fn wait_count(&self, tid: &str, n: usize) -> Vec<Element> {
        let start = Instant::now();
        loop {
            let found = self.all(tid).await;
            if found.len() == n {
                return found;
            }
            if start.elapsed() > WAIT {
                self.shot("timeout").await;
                panic!(
                    "[{}] expected {n} of {tid}, found {}",
                    self.name,
                    found.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Save a screenshot of the window as an artifact, once what the page
    /// last drew is painted (two frames on; a part drawn in the frame
    /// before could otherwise be missing from the picture).
    pub async fn shot(&self, label: &str) {
        let _ = self
            .client
            .execute_async(
                "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(null)));",
                vec![],
            )
            .await;
        let dir = repo_root().join("artifacts/screenshots");
        let _ = std::fs::create_dir_all(&dir);
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(
                dir.join(format!("{}-{:02}-{label}.png", self.name, self.shots)),
                png,
            );
        }
    }

    pub async fn snap(&mut self, label: &str) {
        self.shots += 1;
        self.shot(label).await;
    }

    /// First run: choose a passphrase, land in the app.
    pub async fn first_run(&mut self) {
        self.find("passphrase").await;
        self.snap("first-run").await;
        self.type_into("passphrase", "correct horse battery").await;
        self.type_into("passphrase-confirm", "correct horse battery")
            .await;
        self.click("create-profile").await;
        self.find("nav-contacts").await;
    }

    pub async fn stop(mut self) {
        self.halt().await;
    }

    pub async fn halt(&mut self) -> Option<tempfile::TempDir> {
        let _ = self.client.clone().close().await;
        stop_driver(&mut self.driver);
        self.stopped = true;
        self.profile.take()
    }

    /// Quit the app and start it again on the same profile.
    pub async fn restart(mut self) -> App {
        let profile = self.halt().await.expect("profile");
        let (name, shots) = (self.name, self.shots);
        drop(self);
        let mut again = App::start_in(name, profile).await;
        again.shots = shots;
        again
    }
}

impl Drop for App {
    /// After a failed assertion: no driver, WebDriver or app is left behind.
    fn drop(&mut self) {
        if !self.stopped {
            stop_driver(&mut self.driver);
        }
    }
}

/// The app under test: this crate's build, or an installed one
/// (`CRM_E2E_APP=/usr/bin/crm-desktop`: CI runs the first-run test against
/// the installed `.deb`).
pub fn app_binary() -> String {
    std::env::var("CRM_E2E_APP").unwrap_or_else(|_| env!("CARGO_BIN_EXE_crm-desktop").to_string())
}

pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().await
}

/// Another device beside the window: a profile with `passphrase` at
/// `profile`, signed in to `server` as `email` (the test kit's password).
pub fn signed_in_device(
    server: &crm_sync_testkit::Throwaway,
    profile: &std::path::Path,
    passphrase: &str,
    email: &str,
) -> crm_app::App {
    let a = crm_app::App::new(profile.to_path_buf());
    a.set_extractor(app_binary().into());
    a.profile_create(Some(passphrase.into()), "GB")
        .expect("profile");
    a.sync_login(crm_app::dto::LoginArgs {
        server: server.url(),
        email: email.into(),
        password: crm_sync_testkit::PASSWORD.into(),
        new_password: None,
    })
    .unwrap_or_else(|e| panic!("{email} signs in: {e:?}"));
    a
}
