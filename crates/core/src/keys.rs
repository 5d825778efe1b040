//! Where the database key lives, and how it is obtained.
//!
//! A profile folder holds `profile.json` (no secrets: which key store is used,
//! the keyring entry name, or the Argon2id salt and cost) and the encrypted
//! database. The 256-bit key is either random and kept in the OS keyring
//! (Secret Service on Linux), or derived from a passphrase with Argon2id when
//! no keyring answers. Either way it reaches SQLCipher as a raw key and never
//! touches disk or logs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{CoreError, Result};

/// Keyring service name under which database keys are stored.
pub const KEYRING_SERVICE: &str = "insurance-crm.database-key";
/// The shortest passphrase accepted when a profile is created.
pub const MIN_PASSPHRASE_LEN: usize = 8;
const PROFILE_FILE: &str = "profile.json";

/// A 256-bit SQLCipher key, wiped from memory when dropped.
#[derive(Clone, Zeroize)]
#[zeroize(drop)]
pub struct DbKey([u8; 32]);

impl DbKey {
    /// A fresh random key from the OS generator.
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        DbKey(k)
    }

    /// The `PRAGMA key` argument for a raw key: `x'<64 hex>'`.
    pub(crate) fn pragma_value(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("x'{}'", hex::encode(self.0)))
    }

    fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0))
    }

    fn from_hex(s: &str) -> Option<Self> {
        let mut k = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut k).ok()?;
        Some(DbKey(k))
    }
}

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(<redacted>)")
    }
}

/// Which kind of key store a new profile should use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStoreChoice {
    /// The OS keyring; fall back to a passphrase if no keyring answers.
    Auto,
    /// The OS keyring only; fail if it does not answer.
    Keyring,
    /// A passphrase (Argon2id) only.
    Passphrase,
}

/// Argon2id parameters and salt, stored in `profile.json` (not secret).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KdfParams {
    /// Always "argon2id".
    pub algorithm: String,
    /// Memory cost in KiB.
    pub m_cost: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Parallelism.
    pub p_cost: u32,
    /// Random salt, hex.
    pub salt: String,
}

impl KdfParams {
    fn fresh() -> Self {
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        KdfParams {
            algorithm: "argon2id".into(),
            // OWASP's first Argon2id configuration: 46 MiB, 1 iteration.
            m_cost: 47_104,
            t_cost: 1,
            p_cost: 1,
            salt: hex::encode(salt),
        }
    }

    fn derive(&self, passphrase: &str) -> Result<DbKey> {
        let bad = |reason: String| CoreError::BadProfile {
            path: PathBuf::from(PROFILE_FILE),
            reason,
        };
        if self.algorithm != "argon2id" {
            return Err(bad(format!("unknown key derivation {:?}", self.algorithm)));
        }
        let salt = hex::decode(&self.salt).map_err(|e| bad(format!("salt: {e}")))?;
        let params = argon2::Params::new(self.m_cost, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| bad(format!("argon2 parameters: {e}")))?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut k = [0u8; 32];
        argon
            .hash_password_into(passphrase.as_bytes(), &salt, &mut k)
            .map_err(|e| bad(format!("argon2: {e}")))?;
        Ok(DbKey(k))
    }
}

/// How this profile's key is kept.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeySource {
    /// Random key in the OS keyring under [`KEYRING_SERVICE`] / `user`.
    Keyring {
        /// The keyring entry's user name (unique per profile).
        user: String,
    },
    /// Key derived from a passphrase.
    Passphrase(KdfParams),
}

/// The plaintext metadata of a profile. Holds nothing secret.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProfileMeta {
    /// Format of this file.
    pub format: u32,
    /// Where the key is.
    pub key: KeySource,
    /// The database's page size (every released build records it; read
    /// as today's when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    /// The HMAC every encrypted page is authenticated with (every released
    /// build records it; read as today's when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_hmac: Option<PageHmac>,
}

/// The HMAC SQLCipher authenticates each page with
/// (`cipher_hmac_algorithm`). Both are full-strength; SHA-256 is about
/// twice as fast where the processor has SHA instructions (most x86-64
/// since 2017 and ARMv8), which a bulk write (an import) feels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PageHmac {
    /// SQLCipher 4's default, which pre-release builds used; a profile
    /// that records it is opened with it.
    #[serde(rename = "HMAC_SHA512")]
    Sha512,
    /// What new profiles use.
    #[serde(rename = "HMAC_SHA256")]
    Sha256,
}

impl PageHmac {
    /// Its name for `PRAGMA cipher_hmac_algorithm`.
    pub fn pragma_name(self) -> &'static str {
        match self {
            PageHmac::Sha512 => "HMAC_SHA512",
            PageHmac::Sha256 => "HMAC_SHA256",
        }
    }
}

impl ProfileMeta {
    /// Path of the metadata file in a profile folder.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(PROFILE_FILE)
    }

    /// Read a profile's metadata.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = Self::path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CoreError::NoProfile(dir.to_path_buf()))
            }
            Err(source) => return Err(CoreError::Io { path, err: source }),
        };
        serde_json::from_str(&text).map_err(|e| CoreError::BadProfile {
            path,
            reason: e.to_string(),
        })
    }

    pub(crate) fn save(&self, dir: &Path) -> Result<()> {
        let path = Self::path(dir);
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(&path, text).map_err(|source| CoreError::Io { path, err: source })
    }
}

/// Supplies a passphrase when a profile needs one (from the environment, a
/// prompt, or the app's UI).
pub trait PassphraseSource {
    /// Return the passphrase, or `None` if none can be had.
    /// `confirm` is true when a new passphrase is being chosen.
    fn passphrase(&self, confirm: bool) -> Option<Zeroizing<String>>;
}

impl<F: Fn(bool) -> Option<Zeroizing<String>>> PassphraseSource for F {
    fn passphrase(&self, confirm: bool) -> Option<Zeroizing<String>> {
        self(confirm)
    }
}

/// A passphrase given directly (tests, the app after asking the user).
pub struct FixedPassphrase(pub Zeroizing<String>);

impl PassphraseSource for FixedPassphrase {
    fn passphrase(&self, _confirm: bool) -> Option<Zeroizing<String>> {
        Some(self.0.clone())
    }
}

fn keyring_entry(user: &str) -> Result<keyring_core::Entry> {
    entry_in(KEYRING_SERVICE, user)
}

fn entry_in(service: &str, user: &str) -> Result<keyring_core::Entry> {
    let store: Arc<keyring_core::CredentialStore> = dbus_secret_service_keyring_store::Store::new()
        .map_err(|e| CoreError::KeyringUnavailable(e.to_string()))?;
    store
        .build(service, user, None)
        .map_err(|e| CoreError::KeyringUnavailable(e.to_string()))
}

/// Another secret of this device in the OS keyring (a plugin publisher's
/// signing key), under `service`/`user`; `None` when there is no entry.
pub fn keyring_secret(service: &str, user: &str) -> Result<Option<Zeroizing<String>>> {
    match entry_in(service, user)?.get_password() {
        Ok(v) => Ok(Some(Zeroizing::new(v))),
        Err(keyring_core::Error::NoEntry) => Ok(None),
        Err(e) => Err(CoreError::KeyringUnavailable(e.to_string())),
    }
}

/// Keep `value` in the OS keyring under `service`/`user`, read back to be
/// sure the keyring returns what it was given.
pub fn set_keyring_secret(service: &str, user: &str, value: &str) -> Result<()> {
    let entry = entry_in(service, user)?;
    entry
        .set_password(value)
        .map_err(|e| CoreError::KeyringUnavailable(e.to_string()))?;
    let back = Zeroizing::new(
        entry
            .get_password()
            .map_err(|e| CoreError::KeyringUnavailable(e.to_string()))?,
    );
    if back.as_str() != value {
        return Err(CoreError::KeyringUnavailable(
            "the keyring returned a different value than was stored".into(),
        ));
    }
    Ok(())
}

/// Whether an OS keyring (Secret Service) answers, so a new profile's key
/// can be kept there. The app asks for a passphrase when it does not.
pub fn keyring_available() -> bool {
    keyring_entry("probe").is_ok_and(|e| match e.get_password() {
        Ok(_) | Err(keyring_core::Error::NoEntry) => true,
        Err(_) => false,
    })
}

/// Make a key for a new profile and record where it lives.
pub(crate) fn create_key(
    choice: KeyStoreChoice,
    pass: &dyn PassphraseSource,
) -> Result<(ProfileMeta, DbKey)> {
    if choice != KeyStoreChoice::Passphrase {
        match create_keyring_key() {
            Ok(made) => return Ok(made),
            Err(e) if choice == KeyStoreChoice::Keyring => return Err(e),
            Err(e) => tracing::info!("keyring not usable, using a passphrase instead: {e}"),
        }
    }
    let phrase = pass.passphrase(true).ok_or(CoreError::PassphraseRequired)?;
    if phrase.chars().count() < MIN_PASSPHRASE_LEN {
        return Err(CoreError::WeakPassphrase(MIN_PASSPHRASE_LEN));
    }
    let kdf = KdfParams::fresh();
    let key = kdf.derive(&phrase)?;
    Ok((
        ProfileMeta {
            format: 1,
            key: KeySource::Passphrase(kdf),
            page_size: None,
            page_hmac: None,
        },
        key,
    ))
}

fn create_keyring_key() -> Result<(ProfileMeta, DbKey)> {
    let user = uuid::Uuid::new_v4().to_string();
    let entry = keyring_entry(&user)?;
    let key = DbKey::random();
    entry
        .set_password(&key.to_hex())
        .map_err(|e| CoreError::KeyringUnavailable(e.to_string()))?;
    // Read it back: a store that accepts writes but cannot return them
    // would otherwise leave a database nobody can open.
    let back = entry
        .get_password()
        .map_err(|e| CoreError::KeyringUnavailable(e.to_string()))?;
    let back = Zeroizing::new(back);
    if DbKey::from_hex(&back).map(|k| k.0) != Some(key.0) {
        return Err(CoreError::KeyringUnavailable(
            "the keyring returned a different value than was stored".into(),
        ));
    }
    Ok((
        ProfileMeta {
            format: 1,
            key: KeySource::Keyring { user },
            page_size: None,
            page_hmac: None,
        },
        key,
    ))
}

/// Obtain the key of an existing profile.
pub(crate) fn load_key(meta: &ProfileMeta, pass: &dyn PassphraseSource) -> Result<DbKey> {
    match &meta.key {
        KeySource::Keyring { user } => {
            let entry = keyring_entry(user)?;
            match entry.get_password() {
                Ok(hex) => {
                    let hex = Zeroizing::new(hex);
                    DbKey::from_hex(&hex).ok_or_else(|| {
                        CoreError::KeyMissing("the stored value is not a database key".into())
                    })
                }
                Err(keyring_core::Error::NoEntry) => Err(CoreError::KeyMissing(format!(
                    "no entry {KEYRING_SERVICE}/{user}"
                ))),
                Err(e) => Err(CoreError::KeyringUnavailable(e.to_string())),
            }
        }
        KeySource::Passphrase(kdf) => {
            let phrase = pass
                .passphrase(false)
                .ok_or(CoreError::PassphraseRequired)?;
            kdf.derive(&phrase)
        }
    }
}

/// Remove a profile's key from the keyring (when the profile is deleted).
pub fn forget_key(meta: &ProfileMeta) -> Result<()> {
    if let KeySource::Keyring { user } = &meta.key {
        match keyring_entry(user)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => {}
            Err(e) => return Err(CoreError::KeyringUnavailable(e.to_string())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_passphrase_and_salt_give_the_same_key_and_others_differ() {
        let kdf = KdfParams::fresh();
        let a = kdf.derive("correct horse").unwrap();
        let b = kdf.derive("correct horse").unwrap();
        let c = kdf.derive("correct horsf").unwrap();
        assert_eq!(a.0, b.0);
        assert_ne!(a.0, c.0);
        let other = KdfParams::fresh();
        assert_ne!(other.derive("correct horse").unwrap().0, a.0);
    }

    #[test]
    fn short_passphrases_are_refused() {
        let short = FixedPassphrase(Zeroizing::new("abc".into()));
        assert!(matches!(
            create_key(KeyStoreChoice::Passphrase, &short),
            Err(CoreError::WeakPassphrase(_))
        ));
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let k = DbKey::random();
        let shown = format!("{k:?}");
        assert!(!shown.contains(&hex::encode(k.0)[..8]));
    }

    #[test]
    fn profile_metadata_holds_no_key_material() {
        let kdf = KdfParams::fresh();
        let key = kdf.derive("a long passphrase").unwrap();
        let meta = ProfileMeta {
            format: 1,
            key: KeySource::Passphrase(kdf),
            page_size: Some(16_384),
            page_hmac: Some(PageHmac::Sha256),
        };
        let text = serde_json::to_string(&meta).unwrap();
        assert!(!text.contains(&hex::encode(key.0)));
        assert!(!text.contains("a long passphrase"));
    }
}
