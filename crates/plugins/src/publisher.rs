//! This profile's plugin publisher key: the Ed25519 key the Studio signs
//! exported packages with. Made on first use and kept in the OS keyring
//! when one answers (the profile then only says which entry), else in the
//! encrypted profile. It never leaves the device: a tenant trusts its
//! public half (`crm plugin trust`).

use ed25519_dalek::SigningKey;
use zeroize::Zeroizing;

use crm_core::Store;

use crate::package;

/// Where a profile's publisher key lives: `keyring:<user>` or `profile:<hex>`.
const SETTING: &str = "studio.publisher_key";

/// The keyring service publisher keys are kept under.
pub const KEYRING_SERVICE: &str = "insurance-crm.publisher-key";

/// Where a publisher key is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyHome {
    /// The OS keyring (Secret Service).
    Keyring,
    /// The encrypted profile (no keyring answered when it was made).
    Profile,
}

/// Why the publisher key cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum PublisherError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crm_core::CoreError),
    /// The key was kept in the keyring, which does not give it back now.
    #[error("your publisher key is kept in the OS keyring, which {0}; unlock the keyring (log in to the desktop session) and try again")]
    KeyringMissing(String),
    /// The stored key is damaged.
    #[error("the publisher key kept in this profile is damaged: {0}")]
    Damaged(String),
}

/// This profile's publisher key and where it is kept, made on first use.
pub fn publisher_key(store: &mut Store) -> Result<(SigningKey, KeyHome), PublisherError> {
    let found = store.setting(SETTING)?.map(Zeroizing::new);
    if let Some(found) = found {
        if let Some(user) = found.strip_prefix("keyring:") {
            let secret = crm_core::keys::keyring_secret(KEYRING_SERVICE, user)
                .map_err(|e| PublisherError::KeyringMissing(format!("does not answer ({e})")))?
                .ok_or_else(|| PublisherError::KeyringMissing("has no such entry".into()))?;
            let key = package::parse_secret_key(&secret)
                .map_err(|e| PublisherError::Damaged(e.to_string()))?;
            return Ok((key, KeyHome::Keyring));
        }
        let hex_key = found.strip_prefix("profile:").unwrap_or(&found);
        let key = package::parse_secret_key(hex_key)
            .map_err(|e| PublisherError::Damaged(e.to_string()))?;
        return Ok((key, KeyHome::Profile));
    }
    let key = package::generate_key();
    let secret = Zeroizing::new(hex::encode(key.to_bytes()));
    let user = uuid::Uuid::new_v4().to_string();
    let home = if crm_core::keys::keyring_available()
        && crm_core::keys::set_keyring_secret(KEYRING_SERVICE, &user, &secret).is_ok()
    {
        store.set_setting(SETTING, Some(&format!("keyring:{user}")))?;
        KeyHome::Keyring
    } else {
        store.set_setting(SETTING, Some(&format!("profile:{}", secret.as_str())))?;
        KeyHome::Profile
    };
    Ok((key, home))
}

/// An installed plugin packed again and signed with this profile's
/// publisher key.
pub struct Export {
    /// The package's bytes.
    pub package: Vec<u8>,
    /// The key's public half: what another tenant trusts to install it.
    pub public_key: ed25519_dalek::VerifyingKey,
    /// Where the secret half is kept.
    pub home: KeyHome,
    /// Files in the package, the signature left out.
    pub files: usize,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The publisher key.
    #[error(transparent)]
    Key(#[from] PublisherError),
    /// The plugin, its stored package or the new one.
    #[error("{0}")]
    Plugin(String),
}

/// The files of installed plugin `id` as it would be shared: its stored
/// package (verified as at every run) without its old signature.
pub fn shared_files(
    store: &Store,
    id: &str,
) -> Result<std::collections::BTreeMap<String, Vec<u8>>, ExportError> {
    let rec = store
        .plugin(id)
        .map_err(|e| ExportError::Plugin(e.to_string()))?;
    let trusted =
        crate::lifecycle::trusted_keys(store).map_err(|e| ExportError::Plugin(e.to_string()))?;
    let pkg = package::read_package(&rec.package, &trusted, rec.signer.is_none())
        .map_err(|e| ExportError::Plugin(format!("{id}: {e}")))?;
    let mut files = pkg.files;
    files.remove(package::SIGNATURE_FILE);
    Ok(files)
}

/// Installed plugin `id` as a package signed with this profile's publisher
/// key (made on first use).
pub fn export(store: &mut Store, id: &str) -> Result<Export, ExportError> {
    let files = shared_files(store, id)?;
    let count = files.len();
    let (key, home) = publisher_key(store)?;
    let bytes =
        package::pack_files(files, &key).map_err(|e| ExportError::Plugin(format!("{id}: {e}")))?;
    Ok(Export {
        package: bytes,
        public_key: key.verifying_key(),
        home,
        files: count,
    })
}
