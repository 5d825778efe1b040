//! Copying the write-ahead log into the database: a thread of its own that
//! checkpoints in the background, and the writer's own copies when the log
//! passes its limits, so a long write keeps the log (and the disk it
//! takes) bounded.

use super::*;

/// When the write-ahead log is copied into the database, in frames
/// (pages) of the log.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CheckpointLimits {
    /// A log this long gets copied (SQLite's own automatic checkpoint
    /// starts at the same length).
    pub after: c_int,
    /// The writer copies this many frames or fewer itself (cheap), so
    /// that the next write can start the log afresh.
    pub remainder: c_int,
    /// A log this long is copied whole by the writer before its commit
    /// returns, waiting for the thread if it must: the log's length (and
    /// file) stays bounded even when the thread is starved or never finds
    /// a moment when everything is copied.
    ///
    /// A bulk write that commits batch after batch (an import) never lets
    /// the log start afresh: each batch begins the moment the last one
    /// committed, before the thread has copied it. So every time the log
    /// reaches this length the writer copies the last batch itself and
    /// waits for two `fsync`s (measured: about 50 ms each time, 5% of an
    /// import of 100,000 contacts when it came every second batch). The
    /// limit therefore counts frames whatever their size, so larger pages
    /// let a longer bulk write run without it: 12,000 frames are 48 MiB
    /// of 4 KiB pages and 192 MiB of 16 KiB ones (an import batch of
    /// 20,000 contacts writes about 2,000).
    pub hard: c_int,
    /// Once the log starts afresh its file is cut back to this many bytes
    /// (`journal_size_limit`): a bulk write's long log does not keep its
    /// disk space.
    pub keep_bytes: i64,
}

impl CheckpointLimits {
    /// In frames of 4 KiB pages: 4 MiB, 1 MiB, 48 MiB of log; the file
    /// is cut back to 16 MiB.
    pub(crate) const DEFAULT: CheckpointLimits = CheckpointLimits {
        after: 1000,
        remainder: 256,
        hard: 12_000,
        keep_bytes: 16 << 20,
    };

    /// [`CheckpointLimits::DEFAULT`] for `page_size`: the copying
    /// thresholds keep their sizes in bytes, the hard limit its count of
    /// frames (see [`CheckpointLimits::hard`]).
    pub(crate) fn for_page_size(page_size: u32) -> CheckpointLimits {
        let per = (page_size / 4096).max(1) as c_int;
        let d = CheckpointLimits::DEFAULT;
        CheckpointLimits {
            after: (d.after / per).max(1),
            remainder: (d.remainder / per).max(1),
            ..d
        }
    }
}

/// How long a writer at the hard limit waits for the thread's checkpoint
/// to let go (it copies at most one limit's worth: well under a second).
pub(crate) const HARD_LIMIT_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The thread that checkpoints the write-ahead log. SQLite's automatic
/// checkpoint runs on the committing connection, inside `COMMIT`: a bulk
/// write (an import, a plugin rescoring every contact) waited for every
/// page it had written to be copied a second time, into the database file
/// (measured: 7% of an import, 12% of a rescoring run). A passive
/// checkpoint from a second connection runs beside the writer instead
/// (WAL allows one checkpointer alongside one writer, and a passive
/// checkpoint never takes the writer's lock); the writer only wakes it.
/// Pages move as they are, still encrypted.
///
/// The log starts afresh only when a write begins while every frame has
/// been copied. Under a stream of small writes the thread is always a
/// little behind, so the writer copies the last few frames itself, and
/// the whole log once it reaches [`CheckpointLimits::hard`]. How many
/// are left it asks SQLite (a no-op checkpoint takes no lock). A
/// checkpoint that cannot run at once (the thread holds the checkpoint
/// lock) is skipped, except at the hard limit; the hook never fails a
/// commit that has happened.
pub(crate) struct Checkpointer {
    wake: Option<std::sync::mpsc::SyncSender<()>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // The writer's hook may still hold a sender (a store that failed
        // to open drops this first): stop by flag, not by disconnection.
        self.stop.store(true, Ordering::SeqCst);
        if let Some(w) = self.wake.take() {
            // Full slot: a wake-up is pending and will see the flag.
            let _ = w.try_send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Copy the whole log on the writer, waiting (a little) for the thread.
pub(crate) fn copy_whole_log(wal: &mut rusqlite::hooks::Wal) {
    let deadline = std::time::Instant::now() + HARD_LIMIT_WAIT;
    loop {
        match wal.checkpoint_v2(CheckpointMode::PASSIVE) {
            Ok((log, copied)) if copied >= log => return,
            // Partly copied (a reader still uses older frames) or busy
            // (the thread is copying): try again shortly.
            Ok(_) | Err(_) => {}
        }
        if std::time::Instant::now() >= deadline {
            tracing::debug!(
                "checkpoint at the hard limit did not finish; the next commit tries again"
            );
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

impl Checkpointer {
    /// Start one for the writer `conn` of the database at `path`. `None`
    /// if the second connection or the thread cannot be had: `conn` then
    /// keeps SQLite's automatic checkpoint.
    pub(crate) fn start(
        conn: &mut Connection,
        path: &Path,
        key: Option<&DbKey>,
        layout: Layout,
        limits: CheckpointLimits,
    ) -> Option<Checkpointer> {
        let (other, _) = open_connection(path, key, false, Some(layout)).ok()?;
        // It reads no pages through its cache: a checkpoint copies frames.
        other.pragma_update(None, "cache_size", 16).ok()?;
        other.pragma_update(None, "synchronous", "NORMAL").ok()?;
        let stop = Arc::new(AtomicBool::new(false));
        let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("crm-checkpoint".into())
            .spawn(move || {
                // Wake-ups coalesce (one slot): a checkpoint copies every
                // frame committed before it starts.
                while woken.recv().is_ok() && !stopped.load(Ordering::SeqCst) {
                    if let Err(e) = other.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE) {
                        tracing::debug!(error = %e, "background checkpoint skipped");
                    }
                }
            })
            .ok()?;
        let signal = wake.clone();
        let hooked = conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: c_int| {
            if pages < limits.after {
                return Ok(());
            }
            let left = match wal.checkpoint_v2(CheckpointMode::NOOP) {
                Ok((log, copied)) if log >= 0 && copied >= 0 => log - copied,
                _ => pages,
            };
            if left == 0 {
                // All copied: the next write starts the log afresh.
            } else if pages >= limits.hard {
                copy_whole_log(wal);
            } else if left <= limits.remainder {
                // Busy (the thread is copying): the next commit tries
                // again. The commit itself has happened either way.
                let _ = wal.checkpoint_v2(CheckpointMode::PASSIVE);
            } else {
                // Full slot: a wake-up is already pending.
                let _ = signal.try_send(());
            }
            Ok(())
        }));
        let me = Checkpointer {
            wake: Some(wake),
            stop,
            thread: Some(thread),
        };
        if hooked.is_err() {
            // Dropping `me` ends the thread; SQLite's default stays.
            let _ = conn.pragma_update(None, "wal_autocheckpoint", limits.after);
            return None;
        }
        Some(me)
    }
}
