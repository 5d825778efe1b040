//! The documents library: controlled documents (versions, draft /
//! published / retired, audience) kept in the profile's encrypted store,
//! split into passages, searched with `tantivy` and asked with a language
//! model or without one.
//!
//! *Boundary:* uses `crm-core`'s store through its feature tables
//! (`crm_core::features`: this crate's tables, its own migrations, every
//! write audited) and `crm-extract` for reading files in a worker
//! process. Nothing below knows this crate exists.
//!
//! *Invariants:* no plaintext on disk: text lives only in the encrypted
//! store; the index is in memory, rebuilt from the store. A person sees,
//! searches and is answered from only the documents their audience allows
//! ([`Viewer`]). A new version replaces the old in the index in one commit.
#![deny(missing_docs)]

mod ask;
mod index;
mod library;
mod model;
mod passages;
mod read;
mod saved;
mod schema;
mod stored;
mod sync;
mod viewer;

pub use ask::{ask, cite, compose, prepare, record, Answer, Model, SOURCES};
pub use index::{search_shared, DocIndex, MAX_HITS};
pub use library::{
    add, expand, file_bytes, get, is_controlled, list, publish, publish_controlled, retire,
    set_audience, set_controlled, set_details, versions, AddOptions, AddProgress, Added, Details,
    Expanded, ListQuery, CHUNK,
};
pub use model::{DocStatus, DocsError, Document, FileState, Hit, Result, Version};
pub use passages::{layout, Layout, Span};
pub use read::{page_text, passage};
pub use schema::FEATURE;
pub use sync::{sync, Synced};
pub use viewer::{check_audience, Viewer};
