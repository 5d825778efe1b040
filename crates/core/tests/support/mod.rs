//! What the store's integration tests share: a passphrase profile in a
//! folder, and a contact draft from pairs.

#![allow(dead_code)]

use std::path::Path;

use crm_core::{ContactDraft, FixedPassphrase, KeyStoreChoice, Store};
use zeroize::Zeroizing;

pub fn pass(p: &str) -> FixedPassphrase {
    FixedPassphrase(Zeroizing::new(p.to_string()))
}

pub fn new_store(dir: &Path) -> Store {
    Store::create(
        dir,
        KeyStoreChoice::Passphrase,
        &pass("correct horse battery"),
    )
    .expect("create")
}

pub fn draft(pairs: &[(&str, &str)]) -> ContactDraft {
    let mut d = ContactDraft::default();
    for (f, v) in pairs {
        d.set(f, v).expect("a valid field");
    }
    d
}
