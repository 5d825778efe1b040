//! Worker threads that run scripts off the caller's thread.
//!
//! Threads are kept between invocations (starting one costs more than a
//! small script). A worker that does not answer in time is abandoned: it is
//! never handed another job, and it ends by itself when its current job
//! does (its job channel is closed). A replacement starts on demand.
//!
//! Every other worker that is let go is waited for until its thread has
//! ended, thread-local destructors included. A worker that wrote to the
//! store holds per-thread OpenSSL state (SQLCipher draws each page's IV
//! from OpenSSL's per-thread random generator), freed by a destructor when
//! the thread ends; were the thread still ending while the process exits,
//! that destructor would race OpenSSL's own `atexit` cleanup
//! (`OPENSSL_cleanup`) and the two free the same memory ("double free or
//! corruption" after a `crm plugin run` had printed its result).

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
    idle: Mutex<Vec<Worker>>,
    /// Stack of each worker, bytes (see `sandbox::worker_stack`).
    stack: usize,
}

/// The job did not answer within the wait.
pub(crate) struct Overran;

/// A worker thread and the channel that hands it jobs.
struct Worker {
    jobs: mpsc::Sender<Job>,
    thread: std::thread::JoinHandle<()>,
}

impl Worker {
    /// Let the worker go and wait until its thread has ended (see the
    /// module's notes): closing its channel ends it at once when it is
    /// between jobs, which is the only time this is called.
    fn retire(self) {
        drop(self.jobs);
        let _ = self.thread.join();
    }
}

fn spawn(stack: usize) -> std::io::Result<Worker> {
    let (tx, rx) = mpsc::channel::<Job>();
    let thread = std::thread::Builder::new()
        .name("plugin-worker".into())
        .stack_size(stack)
        .spawn(move || {
            while let Some(job) = next_job(&rx) {
                job();
            }
        })?;
    Ok(Worker { jobs: tx, thread })
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

    fn worker(&self) -> std::io::Result<Worker> {
        match self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            Some(w) => Ok(w),
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
        if let Err(mpsc::SendError(job)) = worker.jobs.send(job) {
            // That worker died (it cannot, jobs catch panics, but be sure):
            // start a fresh one.
            worker.retire();
            worker = spawn(self.stack)?;
            if worker.jobs.send(job).is_err() {
                worker.retire();
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
                        return Ok(Ok(v));
                    }
                }
                worker.retire();
                Ok(Ok(v))
            }
            // Dropping `worker` closes its channel: it ends after this job.
            // It is not waited for: its job may be stuck in a host call.
            None => Ok(Err(Overran)),
        }
    }
}

impl Drop for Pool {
    /// The idle workers end with the pool, before whoever dropped it goes
    /// on (at the end of `main`, to the process's exit).
    fn drop(&mut self) {
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(|e| e.into_inner()));
        for worker in idle {
            worker.retire();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// Sets its flag when the thread it lives on ends (as OpenSSL's
    /// per-thread state is freed).
    struct OnThreadEnd(Arc<AtomicBool>);
    impl Drop for OnThreadEnd {
        fn drop(&mut self) {
            std::thread::sleep(Duration::from_millis(20));
            self.0.store(true, Ordering::SeqCst);
        }
    }
    thread_local! {
        static CLEANUP: std::cell::RefCell<Option<OnThreadEnd>> = const { std::cell::RefCell::new(None) };
    }

    fn job_with_thread_cleanup(ended: Arc<AtomicBool>, takes: Duration) -> impl FnOnce() + Send {
        move || {
            CLEANUP.with(|c| *c.borrow_mut() = Some(OnThreadEnd(ended)));
            std::thread::sleep(takes);
        }
    }

    /// A worker let go after a long job has ended, its thread-local
    /// destructors run, before `run` returns: nothing of it is left to race
    /// the process's exit.
    #[test]
    fn a_retired_worker_has_ended_before_run_returns() {
        let pool = Pool::new(1 << 20);
        let ended = Arc::new(AtomicBool::new(false));
        pool.run(
            Duration::from_secs(5),
            job_with_thread_cleanup(ended.clone(), RETIRE_AFTER * 2),
        )
        .expect("a worker")
        .unwrap_or_else(|_| panic!("overran"));
        assert!(
            ended.load(Ordering::SeqCst),
            "the worker's thread-local cleanup ran"
        );
    }

    /// Idle workers end with the pool, their cleanup done when the drop
    /// returns.
    #[test]
    fn idle_workers_end_with_the_pool() {
        let pool = Pool::new(1 << 20);
        let ended = Arc::new(AtomicBool::new(false));
        pool.run(
            Duration::from_secs(5),
            job_with_thread_cleanup(ended.clone(), Duration::ZERO),
        )
        .expect("a worker")
        .unwrap_or_else(|_| panic!("overran"));
        assert!(
            !ended.load(Ordering::SeqCst),
            "a quick job's worker is kept"
        );
        drop(pool);
        assert!(ended.load(Ordering::SeqCst), "it ended with the pool");
    }
}
