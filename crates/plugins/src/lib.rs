//! The plugin runtime: Rhai scripts run in a sandbox that bounds operations,
//! depth, sizes, wall-clock time and memory, and reach data only through a
//! whitelisted host API that checks granted permissions.
//!
//! The per-invocation memory ceiling needs the counting allocator (see
//! [`alloc`]), since Rhai has none: every program that runs scripts
//! declares it as its global allocator with [`counting_allocator!`] (a
//! library does not choose a program's allocator). Without it the sandbox
//! refuses to run anything.
#![deny(missing_docs)]

pub mod ai;
pub mod alloc;
pub mod check;
pub mod contract;
pub mod dry_run;
mod host;
pub mod lifecycle;
pub use crm_package::manifest;
pub mod net;
pub mod outline;
pub use crm_package::package;
mod pool;
pub mod publisher;
pub mod reference;
pub mod runtime;
pub mod sandbox;
pub mod templates;
pub mod testing;
pub mod text;

pub use manifest::{Manifest, ManifestError};
pub use sandbox::{
    Context, ErrorKind, Limits, LogLine, Notification, RecordedRequest, Rehearsal, RunOutput,
    Sandbox, ScriptError, Services,
};

/// Declare the counting allocator as this program's global allocator: once,
/// in every binary (and test binary) that runs plugin scripts.
#[macro_export]
macro_rules! counting_allocator {
    () => {
        #[global_allocator]
        static COUNTING_ALLOCATOR: $crate::alloc::CountingAllocator =
            $crate::alloc::CountingAllocator;
    };
}

// The crate's own unit tests run scripts.
#[cfg(test)]
counting_allocator!();
