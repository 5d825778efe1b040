//! Logs go through `tracing` to a daily-rotated file in the app's log
//! folder (seven files kept). The app logs counts, codes and ids, never
//! names, emails or phone numbers.

use std::path::Path;

/// Keeps the log writer flushing until the app exits.
pub struct LogGuard(#[allow(dead_code)] Option<tracing_appender::non_blocking::WorkerGuard>);

pub fn init(dir: &Path) -> LogGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CRM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let appender = std::fs::create_dir_all(dir).ok().and_then(|_| {
        tracing_appender::rolling::RollingFileAppender::builder()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("crm")
            .filename_suffix("log")
            .max_log_files(7)
            .build(dir)
            .ok()
    });
    match appender {
        Some(a) => {
            let (writer, guard) = tracing_appender::non_blocking(a);
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(writer)
                .with_ansi(false)
                .try_init();
            LogGuard(Some(guard))
        }
        None => {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .try_init();
            LogGuard(None)
        }
    }
}
