//! The worker process and its keeper: each file is read in a process of
//! its own, bounded in time ([`Limits::time`]) and memory
//! ([`Limits::memory`], an address-space limit on Unix), so a file that
//! panics, loops or balloons a parser costs that file only.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::{extract_here, sniff, ExtractError, Extracted, Kind};

/// The first argument that makes an executable of ours a worker (see
/// [`run_worker_if_asked`]).
pub const WORKER_ARG: &str = "--crm-extract-worker";

/// Bounds on one file.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest file read, bytes.
    pub max_file: u64,
    /// Wall-clock time the worker may take.
    pub time: Duration,
    /// Address space the worker may use, bytes (Unix; elsewhere only the
    /// time limit applies).
    pub memory: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file: 100 << 20,
            time: Duration::from_secs(60),
            memory: 2 << 30,
        }
    }
}

/// Runs extraction in worker processes.
#[derive(Clone, Debug)]
pub struct Extractor {
    program: PathBuf,
    limits: Limits,
}

/// What the worker writes on stdout.
#[derive(Serialize, Deserialize)]
enum Reply {
    Done(Extracted),
    Failed(ExtractError),
}

impl Extractor {
    /// Workers that are this executable, started with [`WORKER_ARG`]: its
    /// `main` must call [`run_worker_if_asked`] first.
    pub fn this_executable() -> Result<Extractor, ExtractError> {
        let program = std::env::current_exe()
            .map_err(|e| ExtractError::Worker(format!("cannot find this program: {e}")))?;
        Ok(Extractor::with_program(program))
    }

    /// Workers that are `program` (which calls [`run_worker_if_asked`]).
    pub fn with_program(program: impl Into<PathBuf>) -> Extractor {
        Extractor {
            program: program.into(),
            limits: Limits::default(),
        }
    }

    /// Other bounds.
    pub fn with_limits(mut self, limits: Limits) -> Extractor {
        self.limits = limits;
        self
    }

    /// The bounds in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Read the file at `path` (refused unread when larger than the limit)
    /// and extract it. Returns its bytes too: the caller keeps them.
    pub fn extract_file(&self, path: &Path) -> Result<(Vec<u8>, Extracted), ExtractError> {
        let size = std::fs::metadata(path)
            .map_err(|e| ExtractError::Damaged(format!("cannot read it: {e}")))?
            .len();
        self.check_size(size)?;
        let mut bytes = Vec::with_capacity(size as usize);
        std::fs::File::open(path)
            .and_then(|f| f.take(self.limits.max_file + 1).read_to_end(&mut bytes))
            .map_err(|e| ExtractError::Damaged(format!("cannot read it: {e}")))?;
        self.check_size(bytes.len() as u64)?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let extracted = self.extract(name.as_deref().unwrap_or(""), &bytes)?;
        Ok((bytes, extracted))
    }

    fn check_size(&self, size: u64) -> Result<(), ExtractError> {
        if size > self.limits.max_file {
            return Err(ExtractError::TooLarge {
                size_mb: size.div_ceil(1 << 20),
                limit_mb: self.limits.max_file >> 20,
            });
        }
        Ok(())
    }

    /// Extract `bytes` (a file named `name`) in a worker process.
    pub fn extract(&self, name: &str, bytes: &[u8]) -> Result<Extracted, ExtractError> {
        self.check_size(bytes.len() as u64)?;
        let kind = sniff(name, bytes)?;
        let mut command = Command::new(&self.program);
        // The worker reads hostile files: it gets none of this process's
        // environment (passphrases, tokens) but what loading the program
        // needs (an AppImage's library path), and no working folder of note.
        #[cfg(unix)]
        {
            command.env_clear().current_dir("/");
            for keep in ["PATH", "LD_LIBRARY_PATH", "APPDIR", "APPIMAGE"] {
                if let Some(v) = std::env::var_os(keep) {
                    command.env(keep, v);
                }
            }
        }
        let mut child = command
            .arg(WORKER_ARG)
            .arg(kind.as_str())
            .arg(self.limits.memory.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| ExtractError::Worker(format!("{}: {e}", self.program.display())))?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(ExtractError::Worker("no pipes to the worker".into()));
        };
        let started = Instant::now();
        std::thread::scope(|s| {
            // The worker may stop reading (it crashed): a broken pipe here
            // is told by its exit status, not by the write.
            s.spawn(move || {
                let _ = stdin.write_all(bytes);
            });
            let out = s.spawn(move || read_capped(stdout, 512 << 20));
            let err = s.spawn(move || read_capped(stderr, 64 << 10));
            // Most files take a few milliseconds: look often at first.
            let mut pause = Duration::from_micros(200);
            let status = loop {
                match child.try_wait() {
                    Ok(Some(status)) => break Ok(status),
                    Ok(None) if started.elapsed() >= self.limits.time => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break Err(ExtractError::TimedOut(self.limits.time.as_secs()));
                    }
                    Ok(None) => {
                        std::thread::sleep(pause);
                        pause = (pause * 2).min(Duration::from_millis(10));
                    }
                    Err(e) => break Err(ExtractError::Worker(e.to_string())),
                }
            };
            let out = out.join().unwrap_or_default();
            let err = err.join().unwrap_or_default();
            let status = status?;
            if status.success() {
                return match serde_json::from_slice::<Reply>(&out) {
                    Ok(Reply::Done(x)) => Ok(x),
                    Ok(Reply::Failed(e)) => Err(e),
                    Err(e) => Err(ExtractError::Crashed(format!(
                        "its answer was unreadable ({e})"
                    ))),
                };
            }
            let said = String::from_utf8_lossy(&err);
            Err(ExtractError::Crashed(
                if said.contains("memory allocation") || said.contains("out of memory") {
                    format!(
                        "it needed more than {} MB of memory",
                        self.limits.memory >> 20
                    )
                } else {
                    let why = said
                        .lines()
                        .find(|l| l.contains("panicked"))
                        .map(|l| l.chars().take(200).collect::<String>());
                    match (why, status.code()) {
                        (Some(w), _) => format!("the {} reader failed ({w})", kind.as_str()),
                        (None, Some(c)) => {
                            format!("the {} reader failed (exit {c})", kind.as_str())
                        }
                        (None, None) => {
                            format!("the {} reader was stopped by the system", kind.as_str())
                        }
                    }
                },
            ))
        })
    }
}

fn read_capped(r: impl Read, cap: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = r.take(cap).read_to_end(&mut out);
    out
}

/// When this process was started as a worker ([`WORKER_ARG`]), do the
/// work and exit; otherwise return at once. Call it first in `main`.
pub fn run_worker_if_asked() {
    let mut args = std::env::args();
    if args.nth(1).as_deref() != Some(WORKER_ARG) {
        return;
    }
    let kind = args.next().and_then(|k| Kind::parse(&k));
    let memory = args.next().and_then(|m| m.parse::<u64>().ok());
    let code = match kind {
        Some(kind) => {
            limit_memory(memory.unwrap_or(Limits::default().memory));
            work(kind)
        }
        None => 2,
    };
    std::process::exit(code);
}

fn work(kind: Kind) -> i32 {
    let mut bytes = Vec::new();
    if std::io::stdin().lock().read_to_end(&mut bytes).is_err() {
        return 3;
    }
    let reply = match extract_here(kind, &bytes) {
        Ok(x) => Reply::Done(x),
        Err(e) => Reply::Failed(e),
    };
    let mut out = std::io::stdout().lock();
    let written = serde_json::to_writer(&mut out, &reply).map_err(std::io::Error::from);
    match written.and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(_) => 4,
    }
}

#[cfg(unix)]
fn limit_memory(bytes: u64) {
    let lim = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: setrlimit reads the struct we pass; it only lowers this
    // process's own limit.
    unsafe {
        libc::setrlimit(libc::RLIMIT_AS, &lim);
    }
}

#[cfg(not(unix))]
fn limit_memory(_bytes: u64) {}
