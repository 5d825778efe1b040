//! Worker threads that run scripts off the caller's thread.
//!
//! Threads are kept between invocations (starting one costs more than a
//! small script). A worker that does not answer in time is abandoned: it is
//! never handed another job, and it ends by itself when its current job
//! does (its job channel is closed). A replacement starts on demand.

use std::sync::{mpsc, Mutex};
use std::time::Duration;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Idle workers kept at most; more are started under load and then let go.
const MAX_IDLE: usize = 8;
/// Stack of a worker: deep (but limited) recursion needs room; Rhai's own
/// depth checks stop scripts well before this is used up.
const STACK: usize = 16 << 20;

/// A pool of script workers.
#[derive(Default)]
pub(crate) struct Pool {
    idle: Mutex<Vec<mpsc::Sender<Job>>>,
}

/// The job did not answer within the wait.
pub(crate) struct Overran;

fn spawn() -> std::io::Result<mpsc::Sender<Job>> {
    let (tx, rx) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("plugin-worker".into())
        .stack_size(STACK)
        .spawn(move || {
            while let Ok(job) = rx.recv() {
                job();
            }
        })?;
    Ok(tx)
}

impl Pool {
    fn worker(&self) -> std::io::Result<mpsc::Sender<Job>> {
        match self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            Some(tx) => Ok(tx),
            None => spawn(),
        }
    }

    /// Run `f` on a worker and wait at most `wait` for its answer.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        wait: Duration,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::io::Result<Result<T, Overran>> {
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move || {
            let _ = done_tx.send(f());
        });
        let mut worker = self.worker()?;
        if let Err(mpsc::SendError(job)) = worker.send(job) {
            // That worker died (it cannot, jobs catch panics, but be sure):
            // start a fresh one.
            worker = spawn()?;
            if worker.send(job).is_err() {
                return Err(std::io::Error::other("cannot start a plugin worker"));
            }
        }
        match done_rx.recv_timeout(wait) {
            Ok(v) => {
                let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                if idle.len() < MAX_IDLE {
                    idle.push(worker);
                }
                Ok(Ok(v))
            }
            // Dropping `worker` closes its channel: it ends after this job.
            Err(_) => Ok(Err(Overran)),
        }
    }
}
