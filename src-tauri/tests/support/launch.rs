//! Launching the real app for the window benchmarks (`make bench-app`,
//! `make bench-compliance`): tauri-driver and a WebDriver session on a
//! built binary, with the clock started only once a session request can
//! succeed.
#![allow(dead_code)] // each user takes what it needs

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use crate::driver::free_port;

pub const WAIT: Duration = Duration::from_secs(120);

/// The number after `name` on the command line, or `default`.
pub fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub async fn wait_css(c: &Client, css: &str) {
    c.wait()
        .at_most(WAIT)
        .every(Duration::from_millis(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"));
}

/// Start tauri-driver and a WebDriver session on `binary`: the driver, the
/// instant the (successful) session request was sent, and the client.
pub async fn start(binary: &Path, profile: &Path, display: &str) -> (Child, Instant, Client) {
    let port = free_port();
    let native = free_port();
    let driver: Child = Command::new("tauri-driver")
        .args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native.to_string(),
        ])
        .env("DISPLAY", display)
        .env("CRM_DATA_DIR", profile)
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tauri-driver (make deps installs it)");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": binary }),
    );
    let url = format!("http://127.0.0.1:{port}");
    // Wait for tauri-driver to listen before starting the clock.
    let ready = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(ready.elapsed() < WAIT, "tauri-driver did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    while std::net::TcpStream::connect(("127.0.0.1", native)).is_err() {
        assert!(ready.elapsed() < WAIT, "WebKitWebDriver did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    // A refused session start launched no app: the clock restarts with
    // each attempt.
    let mut attempts = 0;
    loop {
        let t0 = Instant::now();
        match ClientBuilder::rustls()
            .expect("rustls")
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => return (driver, t0, c),
            Err(e) if attempts < 20 => {
                attempts += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("no WebDriver session: {e}"),
        }
    }
}

/// A binary next to this one's folder: `target/<profile>/<name>`.
pub fn sibling(name: &str) -> PathBuf {
    let me = std::env::current_exe().expect("current exe");
    // target/<profile>/examples/startup-bench → target/<profile>/<name>
    let bin = me
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join(name))
        .expect("target folder");
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build --release -p crm-desktop --bins --examples)",
        bin.display()
    );
    bin
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}
