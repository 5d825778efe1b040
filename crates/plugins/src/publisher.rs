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
