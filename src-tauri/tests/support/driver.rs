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
/// own processes aside, in MiB. RSS counts the shared libraries once per
/// process; PSS shares them out.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    /// RSS of the app (the UI process: Rust, GTK, the WebKit UI side).
    pub app: f64,
    /// RSS of the WebKit web process(es): the page, its DOM and JS.
    pub web: f64,
    /// RSS of the WebKit network process (serves the bundled UI).
    pub network: f64,
    /// Every process's PSS, summed.
    pub pss: f64,
}

impl Memory {
    /// RSS of every process, summed.
    pub fn rss(&self) -> f64 {
        self.app + self.web + self.network
    }

    /// The larger of each figure.
    pub fn max(self, o: Memory) -> Memory {
        Memory {
            app: self.app.max(o.app),
            web: self.web.max(o.web),
            network: self.network.max(o.network),
            pss: self.pss.max(o.pss),
        }
    }
}

pub fn app_memory_mib(driver: u32) -> Memory {
    let mut m = Memory::default();
    for p in descendants(driver) {
        let name = comm(p);
        if name.starts_with("WebKitWebDrive") {
            continue;
        }
        let rss = status_kib(p, "status", "VmRSS:") as f64 / 1024.0;
        m.pss += status_kib(p, "smaps_rollup", "Pss:") as f64 / 1024.0;
        if name.starts_with("WebKitWebProc") {
            m.web += rss;
        } else if name.starts_with("WebKitNetwork") {
            m.network += rss;
        } else {
            // The app, and any helper it started (a sandbox, a D-Bus proxy).
            m.app += rss;
        }
    }
    m
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
