//! Worker threads that run scripts off the caller's thread.
//!
//! Threads are kept between invocations (starting one costs more than a
//! small script). A worker that does not answer in time is abandoned: it is
//! never handed another job, and it ends by itself when its current job
//! does (its job channel is closed). A replacement starts on demand.

use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Idle workers kept at most; more are started under load and then let go.
const MAX_IDLE: usize = 8;
/// A worker whose job took longer than this is let go afterwards (see
/// [`Pool::run`]); starting a new one costs far less than such a job.
const RETIRE_AFTER: Duration = Duration::from_millis(50);

/// A pool of script workers.
pub(crate) struct Pool {
    idle: Mutex<Vec<mpsc::Sender<Job>>>,
    /// Stack of each worker, bytes (see `sandbox::worker_stack`).
    stack: usize,
}

/// The job did not answer within the wait.
pub(crate) struct Overran;

fn spawn(stack: usize) -> std::io::Result<mpsc::Sender<Job>> {
    let (tx, rx) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("plugin-worker".into())
        .stack_size(stack)
        .spawn(move || {
            while let Some(job) = next_job(&rx) {
                job();
            }
        })?;
    Ok(tx)
}

/// How long a side polls before it sleeps. Waking a thread parked on an
/// idle CPU costs tens of microseconds, more than a small script: in a burst
/// (hook runs after an import) both sides stay awake; otherwise they park
/// after this and cost nothing.
const SPIN: Duration = Duration::from_micros(200);

/// The next job: polled for a moment, then waited for. `None` when the
/// pool let this worker go.
fn next_job(rx: &mpsc::Receiver<Job>) -> Option<Job> {
    let until = Instant::now() + SPIN;
    loop {
        match rx.try_recv() {
            Ok(job) => return Some(job),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) if Instant::now() < until => {
                std::hint::spin_loop();
                std::thread::yield_now();
            }
            Err(mpsc::TryRecvError::Empty) => return rx.recv().ok(),
        }
    }
}

/// The answer: polled for a moment, then waited for until `deadline`.
fn answer<T>(rx: &mpsc::Receiver<T>, deadline: Instant) -> Option<T> {
    let until = (Instant::now() + SPIN).min(deadline);
    loop {
        match rx.try_recv() {
            Ok(v) => return Some(v),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) if Instant::now() < until => {
                std::hint::spin_loop();
                std::thread::yield_now();
            }
            Err(mpsc::TryRecvError::Empty) => {
                return rx
                    .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                    .ok()
            }
        }
    }
}

impl Pool {
    /// A pool whose workers have `stack` bytes of stack each.
    pub(crate) fn new(stack: usize) -> Pool {
        Pool {
            idle: Mutex::new(Vec::new()),
            stack,
        }
    }

    fn worker(&self) -> std::io::Result<mpsc::Sender<Job>> {
        match self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            Some(tx) => Ok(tx),
            None => spawn(self.stack),
        }
    }

    /// Run `f` on a worker and wait at most `wait` for its answer.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        wait: Duration,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::io::Result<Result<T, Overran>> {
        let started = Instant::now();
        let deadline = started + wait;
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move || {
            let _ = done_tx.send(f());
        });
        let mut worker = self.worker()?;
        if let Err(mpsc::SendError(job)) = worker.send(job) {
            // That worker died (it cannot, jobs catch panics, but be sure):
            // start a fresh one.
            worker = spawn(self.stack)?;
            if worker.send(job).is_err() {
                return Err(std::io::Error::other("cannot start a plugin worker"));
            }
        }
        match answer(&done_rx, deadline) {
            Some(v) => {
                // A long job may have touched much of the worker's large
                // stack (a deeply nested value dropped): let that thread
                // go, which returns its stack to the system, rather than
                // keep those pages resident in an idle worker.
                if started.elapsed() < RETIRE_AFTER {
                    let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                    if idle.len() < MAX_IDLE {
                        idle.push(worker);
                    }
                }
                Ok(Ok(v))
            }
            // Dropping `worker` closes its channel: it ends after this job.
            None => Ok(Err(Overran)),
        }
    }
}
