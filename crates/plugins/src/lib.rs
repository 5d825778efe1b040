//! The plugin runtime: Rhai scripts run in a sandbox that bounds operations,
//! depth, sizes, wall-clock time and memory, and reach data only through a
//! whitelisted host API that checks granted permissions.
//!
//! This crate installs a counting global allocator (see [`alloc`]): it is how
//! the per-invocation memory ceiling is enforced, since Rhai has none.
#![deny(missing_docs)]

pub mod ai;
pub mod alloc;
pub mod check;
mod host;
pub mod lifecycle;
pub mod manifest;
pub mod net;
pub mod package;
mod pool;
pub mod reference;
pub mod runtime;
pub mod sandbox;
pub mod templates;
pub mod testing;
pub mod text;

pub use manifest::{Manifest, ManifestError};
pub use sandbox::{
    Context, ErrorKind, Limits, LogLine, Notification, RunOutput, Sandbox, ScriptError, Services,
};

#[global_allocator]
static GLOBAL: alloc::CountingAllocator = alloc::CountingAllocator;
