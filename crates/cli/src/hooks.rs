//! The plugin hooks every data-changing command ends with: the events its
//! store commits are collected, then the plugins that listen run on them,
//! on that same store.
//! Apart from `crm plugin …` because every command, not only those, ends here.

use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use crm_core::{ChangeEvent, Store};
use crm_plugins::runtime::{RunReport, Runtime};
use crm_plugins::Manifest;

use crate::plugin_cmd::{limits_of, print_reports};
use crate::Profile;

/// Events committed during this command, for the plugins that listen.
static EVENTS: Mutex<Vec<ChangeEvent>> = Mutex::new(Vec::new());
/// Set once the hooks start: the events they cause are not collected.
static DISPATCHING: AtomicBool = AtomicBool::new(false);

/// Collect committed events when an enabled plugin has hooks (otherwise
/// nothing is kept: an import of a million rows stays lean).
pub fn collect_hook_events(store: &mut Store) {
    let wanted = store.plugins().is_ok_and(|ps| {
        ps.iter()
            .any(|p| p.enabled && Manifest::parse(&p.manifest).is_ok_and(|m| !m.hooks.is_empty()))
    });
    if wanted {
        store.subscribe(Arc::new(|e: &ChangeEvent| {
            if DISPATCHING.load(SeqCst) {
                return;
            }
            if let Ok(mut q) = EVENTS.lock() {
                q.push(e.clone());
            }
        }));
    }
}

/// Run the hooks for what this command changed. Failures are reported on
/// stderr; they never undo the change or fail the command.
///
/// They run on the store the command opened, when it kept one: opening the
/// profile again would cost a passphrase-protected one its key derivation a
/// second time.
pub fn dispatch_hooks(profile: Profile) {
    // What the hooks write is the runtime's to dispatch (it listens to the
    // store), not this command's: stop collecting.
    DISPATCHING.store(true, SeqCst);
    let events: Vec<ChangeEvent> = match EVENTS.lock() {
        Ok(mut q) => std::mem::take(&mut *q),
        Err(_) => return,
    };
    if events.is_empty() {
        return;
    }
    let result = (|| -> Result<Vec<RunReport>> {
        let store = profile.into_store()?;
        let limits = limits_of(&store)?;
        let rt = Runtime::new(Arc::new(Mutex::new(store)), limits)?;
        let many = events.len() >= 500;
        rt.enqueue(events);
        // Many events (an import) show a bar; Ctrl-C stops the hook runs
        // (the changes themselves are already saved).
        let bar = if many {
            let b = indicatif::ProgressBar::new(0);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} plugin hooks [{bar:40}] {pos}/{len} ({eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b
        } else {
            indicatif::ProgressBar::hidden()
        };
        crate::CANCELLABLE.store(true, std::sync::atomic::Ordering::SeqCst);
        let reports = rt.dispatch_pending_with(&mut |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            !crate::INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
        })?;
        bar.finish_and_clear();
        if crate::INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
            eprintln!("warning: plugin hooks were cancelled; the changes themselves are saved");
        }
        Ok(reports)
    })();
    match result {
        Ok(reports) => print_reports(&reports, false),
        Err(e) => eprintln!("warning: plugin hooks did not run: {e:#}"),
    }
}
