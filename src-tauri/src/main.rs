//! The desktop app: a thin Tauri 2 shell over `crm-app`.
//!
//! It only opens the window, sets up logging, and registers commands; each
//! command delegates in a line to [`crm_app::App`] (see `commands.rs`).
// Hide the console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

// Plugins run in this process: their memory ceiling needs it.
crm_plugins::counting_allocator!();

#[cfg(test)]
mod command_names;
mod commands;
mod logging;

use std::path::PathBuf;
use std::sync::Arc;

use tauri::Manager;

/// The profile folder: `--data-dir DIR`, else `CRM_DATA_DIR`, else the
/// platform's app-data folder (the same rule as the `crm` CLI).
fn data_dir() -> Option<PathBuf> {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--data-dir" {
            return args.next().map(PathBuf::from);
        }
        if let Some(v) = a.strip_prefix("--data-dir=") {
            return Some(PathBuf::from(v));
        }
    }
    std::env::var_os("CRM_DATA_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(crm_app::default_data_dir)
}

/// The allocator's footprint options, set before anything is allocated
/// (run by the loader with the other constructors, before Rust's runtime
/// starts): mimalloc sizes its first arena at the first allocation.
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static FAVOUR_FOOTPRINT: extern "C" fn() = {
    extern "C" fn favour_footprint() {
        crm_plugins::alloc::favour_footprint();
    }
    favour_footprint
};

fn main() {
    // Started again to read one document file (see `crm_extract`): do
    // that and exit before any window exists.
    crm_extract::run_worker_if_asked();
    #[cfg(not(target_os = "linux"))]
    crm_plugins::alloc::favour_footprint();
    // WebKitGTK's accelerated compositing costs about 90 MB for a UI of
    // forms and lists (measured by `make bench-app`); off unless asked for
    // with CRM_WEBKIT_COMPOSITING=1 (WebDriver screenshots need it: the
    // end-to-end tests set it).
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none()
        && std::env::var_os("CRM_WEBKIT_COMPOSITING").is_none()
    {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    let Some(dir) = data_dir() else {
        eprintln!("error: no app-data folder on this platform; pass --data-dir DIR");
        std::process::exit(2);
    };
    let app = Arc::new(crm_app::App::new(dir));
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(app.clone())
        .setup(move |handle| {
            let log_dir = handle.path().app_log_dir()?;
            let guard = logging::init(&log_dir);
            handle.manage(guard);
            tracing::info!(version = env!("CARGO_PKG_VERSION"), "app started");
            commands::start_ticker(app.clone());
            commands::start_auto_sync(app.clone(), handle.handle().clone());
            commands::start_change_listener(app.clone());
            Ok(())
        })
        .invoke_handler(commands::handler())
        .run(tauri::generate_context!())
        .expect("error while running the app");
}
