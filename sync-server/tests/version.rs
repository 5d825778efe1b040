//! `sync-server --version` shows the workspace's version, the one place it
//! is set (the app and `crm --version` show the same).

#[test]
fn the_version_is_the_workspaces() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .arg("--version")
        .output()
        .expect("run sync-server");
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("sync-server {}", env!("CARGO_PKG_VERSION"))
    );
}
