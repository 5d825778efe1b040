//! Process helpers shared by the end-to-end tests and the start-up
//! benchmark (`examples/startup-bench.rs`).
#![allow(dead_code)] // each user takes what it needs

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The process name.
pub fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Every process below `root` (children, grandchildren…).
pub fn descendants(root: u32) -> Vec<u32> {
    let pids: Vec<u32> = std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let parent = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    pids.into_iter()
        .filter(|&p| {
            let mut cur = p;
            while let Some(pp) = parent(cur) {
                if pp == root {
                    return true;
                }
                if pp <= 1 {
                    return false;
                }
                cur = pp;
            }
            false
        })
        .collect()
}

/// Stop tauri-driver (SIGTERM: it then stops WebKitWebDriver and the app),
/// and make sure nothing it started outlives it.
pub fn stop_driver(driver: &mut Child) {
    let below = descendants(driver.id());
    let _ = Command::new("kill")
        .args(["-TERM", &driver.id().to_string()])
        .status();
    let _ = driver.wait();
    for p in below {
        let _ = Command::new("kill")
            .args(["-KILL", &p.to_string()])
            .status();
    }
}

fn status_kib(pid: u32, file: &str, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Memory of the app started under `driver` (tauri-driver) and every
/// process it started (the WebKit web and network processes), WebDriver's
/// own processes aside: (sum of RSS, sum of PSS) in MiB. RSS counts the
/// shared libraries once per process; PSS shares them out.
pub fn app_memory_mib(driver: u32) -> (f64, f64) {
    let mut rss = 0;
    let mut pss = 0;
    for p in descendants(driver) {
        if comm(p).starts_with("WebKitWebDrive") {
            continue;
        }
        rss += status_kib(p, "status", "VmRSS:");
        pss += status_kib(p, "smaps_rollup", "Pss:");
    }
    (rss as f64 / 1024.0, pss as f64 / 1024.0)
}

/// Start Xvfb on a free display; returns it and the display name (`:N`)
/// once its socket is there.
pub fn start_xvfb() -> (Child, String) {
    let n = (100..200)
        .find(|n| !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists())
        .expect("a free X display number");
    let display = format!(":{n}");
    let child = Command::new("Xvfb")
        .args([
            display.as_str(),
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb is installed (apt install xvfb); scripts/install-deps does it");
    let sock = format!("/tmp/.X11-unix/X{n}");
    let start = Instant::now();
    while !Path::new(&sock).exists() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, display)
}
