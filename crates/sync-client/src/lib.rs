//! Offline-first sync client (being built: see issue 4).
#![deny(missing_docs)]
