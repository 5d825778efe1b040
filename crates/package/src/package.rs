//! Signed plugin packages: a zip of the plugin folder plus `SIGNATURE.json`,
//! an Ed25519 signature over the sorted list of file paths and SHA-256 hashes.
//!
//! Reading never trusts the archive: names are checked (no `..`, absolute
//! paths, backslashes or drive letters), symlinks, directories-as-files and
//! duplicate entries are refused, sizes are capped while decompressing (the
//! declared sizes are not believed) and a high compression ratio is refused as
//! a bomb. Only then is the signature checked: every file listed with its
//! hash, nothing unlisted, signed by a key the tenant trusts.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::Path;

use ed25519_dalek::{Signature, Signer, Verifier};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::manifest::Manifest;

/// Most entries in a package.
pub const MAX_ENTRIES: usize = 256;
/// Largest file inside a package, bytes.
pub const MAX_FILE: u64 = 2 << 20;
/// Largest total of all files, bytes.
pub const MAX_TOTAL: u64 = 8 << 20;
/// Highest compression ratio accepted for files over 64 KiB.
pub const MAX_RATIO: u64 = 100;
/// Name of the signature file inside a package.
pub const SIGNATURE_FILE: &str = "SIGNATURE.json";
const DOMAIN: &[u8] = b"crm-plugin-package-v1\n";

/// Why a package was refused.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// Not a readable zip.
    #[error("not a plugin package (zip): {0}")]
    NotZip(String),
    /// A dangerous or malformed entry.
    #[error("refused entry {name:?}: {reason}")]
    BadEntry {
        /// The entry name as stored.
        name: String,
        /// Why.
        reason: String,
    },
    /// Too large or too compressed.
    #[error("refused: {0}")]
    TooLarge(String),
    /// Signature missing, wrong or by an untrusted key.
    #[error("signature: {0}")]
    Signature(String),
    /// The manifest is invalid.
    #[error("manifest.json: {0}")]
    Manifest(String),
    /// Reading or writing files.
    #[error("{0}")]
    Io(String),
}

/// The signature file's content.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureFile {
    format: u32,
    files: BTreeMap<String, String>,
    signer: String,
    signature: String,
}

/// A verified package, in memory.
#[derive(Debug)]
pub struct Package {
    /// Its manifest.
    pub manifest: Manifest,
    /// Files by path (the signature file excluded).
    pub files: BTreeMap<String, Vec<u8>>,
    /// The signer's public key (hex), or `None` for an unsigned developer package.
    pub signer: Option<String>,
}

fn message(files: &BTreeMap<String, String>) -> Vec<u8> {
    let mut m = DOMAIN.to_vec();
    for (path, hash) in files {
        m.extend_from_slice(path.as_bytes());
        m.push(b'\t');
        m.extend_from_slice(hash.as_bytes());
        m.push(b'\n');
    }
    m
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A new signing key (32 random bytes from the OS).
pub fn generate_key() -> SigningKey {
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
    SigningKey::from_bytes(&seed)
}

/// Parse a hex public key.
pub fn parse_public_key(hex_text: &str) -> Result<VerifyingKey, PackageError> {
    let mut b = [0u8; 32];
    hex::decode_to_slice(hex_text.trim(), &mut b).map_err(|_| {
        PackageError::Signature(format!(
            "{:?} is not a public key (64 hex digits)",
            hex_text.trim()
        ))
    })?;
    VerifyingKey::from_bytes(&b)
        .map_err(|e| PackageError::Signature(format!("bad public key: {e}")))
}

/// Parse a hex secret key.
pub fn parse_secret_key(hex_text: &str) -> Result<SigningKey, PackageError> {
    let mut b = [0u8; 32];
    hex::decode_to_slice(hex_text.trim(), &mut b).map_err(|_| {
        PackageError::Signature("the key file is not a secret key (64 hex digits)".into())
    })?;
    Ok(SigningKey::from_bytes(&b))
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 200 {
        return Err("empty or too long".into());
    }
    if name.chars().any(char::is_control) {
        return Err("control characters (tabs, newlines…) are not allowed in names".into());
    }
    if name.starts_with('/') || name.contains('\\') || name.contains(':') || name.contains('\0') {
        return Err("absolute paths, backslashes and drive letters are not allowed".into());
    }
    if name.split('/').any(|part| part == ".." || part == ".") {
        return Err("paths may not contain '.' or '..' parts (zip-slip)".into());
    }
    Ok(())
}

/// Collect a plugin folder's files (regular files only; symlinks refused).
fn collect(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>, PackageError> {
    let mut out = BTreeMap::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, prefix)) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).map_err(|e| PackageError::Io(format!("{}: {e}", d.display())))?;
        for e in entries {
            let e = e.map_err(|e| PackageError::Io(e.to_string()))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let ft = e.file_type().map_err(|e| PackageError::Io(e.to_string()))?;
            if ft.is_symlink() {
                return Err(PackageError::BadEntry {
                    name: rel,
                    reason: "symbolic links cannot be packed".into(),
                });
            } else if ft.is_dir() {
                stack.push((e.path(), rel));
            } else if ft.is_file() {
                if rel == SIGNATURE_FILE {
                    continue;
                }
                check_name(&rel).map_err(|reason| PackageError::BadEntry {
                    name: rel.clone(),
                    reason,
                })?;
                let bytes = std::fs::read(e.path()).map_err(|e| PackageError::Io(e.to_string()))?;
                if bytes.len() as u64 > MAX_FILE {
                    return Err(PackageError::TooLarge(format!(
                        "{rel} is over {MAX_FILE} bytes"
                    )));
                }
                out.insert(rel, bytes);
            }
            if out.len() > MAX_ENTRIES {
                return Err(PackageError::TooLarge(format!(
                    "more than {MAX_ENTRIES} files"
                )));
            }
        }
    }
    Ok(out)
}

/// Build a signed package from a plugin folder.
pub fn pack(dir: &Path, key: &SigningKey) -> Result<Vec<u8>, PackageError> {
    pack_files(collect(dir)?, key)
}

/// [`pack`] for files already in memory (`path -> bytes`), e.g. the
/// Studio's export of an installed plugin.
pub fn pack_files(
    files: BTreeMap<String, Vec<u8>>,
    key: &SigningKey,
) -> Result<Vec<u8>, PackageError> {
    manifest_in(&files, "folder")?;
    let hashes: BTreeMap<String, String> = files
        .iter()
        .map(|(p, b)| (p.clone(), sha256_hex(b)))
        .collect();
    let sig = key.sign(&message(&hashes));
    let signature = SignatureFile {
        format: 1,
        files: hashes,
        signer: hex::encode(key.verifying_key().to_bytes()),
        signature: hex::encode(sig.to_bytes()),
    };
    let mut all = files;
    all.insert(
        SIGNATURE_FILE.into(),
        serde_json::to_vec_pretty(&signature).map_err(|e| PackageError::Io(e.to_string()))?,
    );
    write_zip(&all)
}

/// Zip a plugin folder without signing it (developer installs only).
pub fn pack_unsigned(dir: &Path) -> Result<Vec<u8>, PackageError> {
    write_zip(&collect(dir)?)
}

/// Write files into a zip (deflated). Also used by tests to craft packages.
pub fn write_zip(files: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>, PackageError> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        w.start_file(name.as_str(), opts)
            .map_err(|e| PackageError::Io(e.to_string()))?;
        w.write_all(bytes)
            .map_err(|e| PackageError::Io(e.to_string()))?;
    }
    let cursor = w.finish().map_err(|e| PackageError::Io(e.to_string()))?;
    Ok(cursor.into_inner())
}

/// Read and verify a package. `trusted`: the tenant's publisher keys.
/// `allow_unsigned`: developer mode only.
pub fn read_package(
    bytes: &[u8],
    trusted: &[VerifyingKey],
    allow_unsigned: bool,
) -> Result<Package, PackageError> {
    // Nothing outside the entries: what is stored is exactly what the
    // signature covers (and what the runtime re-verifies on every run).
    check_layout(bytes)?;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| PackageError::NotZip(e.to_string()))?;
    if zip.len() > MAX_ENTRIES {
        return Err(PackageError::TooLarge(format!(
            "{} entries (at most {MAX_ENTRIES})",
            zip.len()
        )));
    }
    // The zip reader keeps one entry per name; other tools may extract the
    // other copy. Compare with the count the archive itself records.
    match eocd_entry_count(bytes) {
        Some(n) if n as usize == zip.len() => {}
        Some(0xFFFF) => {
            return Err(PackageError::TooLarge(format!(
                "more than {MAX_ENTRIES} entries"
            )))
        }
        Some(n) => {
            return Err(PackageError::BadEntry {
                name: "(archive)".into(),
                reason: format!(
                    "the archive records {n} entries but {} distinct names: an entry appears twice",
                    zip.len()
                ),
            })
        }
        None => {
            return Err(PackageError::NotZip(
                "no end-of-central-directory record".into(),
            ))
        }
    }
    let mut files = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut f = zip
            .by_index(i)
            .map_err(|e| PackageError::NotZip(e.to_string()))?;
        let name = f
            .name()
            .map_err(|e| PackageError::BadEntry {
                name: format!("#{i}"),
                reason: e.to_string(),
            })?
            .into_owned();
        let bad = |reason: String| PackageError::BadEntry {
            name: name.clone(),
            reason,
        };
        check_name(name.trim_end_matches('/')).map_err(&bad)?;
        if f.enclosed_name().is_none() {
            return Err(bad("the path escapes the package".into()));
        }
        if f.is_symlink() {
            return Err(bad("symbolic links are not allowed".into()));
        }
        if !seen.insert(name.clone()) {
            return Err(bad("the package has this entry twice".into()));
        }
        if f.is_dir() {
            continue;
        }
        let declared = f.size();
        let compressed = f.compressed_size().max(1);
        if declared > 64 * 1024 && declared / compressed > MAX_RATIO {
            return Err(PackageError::TooLarge(format!(
                "{name} expands {}x (at most {MAX_RATIO}x): a zip bomb?",
                declared / compressed
            )));
        }
        // Never believe declared sizes: read at most the cap plus one byte.
        let mut buf = Vec::new();
        (&mut f)
            .take(MAX_FILE + 1)
            .read_to_end(&mut buf)
            .map_err(|e| bad(format!("cannot be read: {e}")))?;
        if buf.len() as u64 > MAX_FILE {
            return Err(PackageError::TooLarge(format!(
                "{name} is over {MAX_FILE} bytes"
            )));
        }
        total += buf.len() as u64;
        if total > MAX_TOTAL {
            return Err(PackageError::TooLarge(format!(
                "the files add up to over {MAX_TOTAL} bytes"
            )));
        }
        files.insert(name, buf);
    }
    let signer = match files.remove(SIGNATURE_FILE) {
        None if allow_unsigned => None,
        None => {
            return Err(PackageError::Signature(
                "the package is not signed; unsigned packages install only in developer mode"
                    .into(),
            ))
        }
        Some(sig_bytes) => Some(verify(&sig_bytes, &files, trusted)?),
    };
    let manifest = manifest_in(&files, "package")?;
    Ok(Package {
        manifest,
        files,
        signer,
    })
}

/// Parse and validate the `manifest.json` among `files` (`place` names
/// where it was looked for, for the message).
fn manifest_in(files: &BTreeMap<String, Vec<u8>>, place: &str) -> Result<Manifest, PackageError> {
    let bytes = files
        .get("manifest.json")
        .ok_or_else(|| PackageError::Manifest(format!("missing from the {place}")))?;
    Manifest::parse(&String::from_utf8_lossy(bytes)).map_err(|errs| {
        PackageError::Manifest(
            errs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}

fn le16(b: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?) as usize)
}

fn le32(b: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize)
}

/// Refuse an archive with bytes that belong to no entry: data before the
/// first entry (a prepended file), between entries or after the end
/// record, a comment (the archive's or an entry's), extra fields, or
/// entries followed by data descriptors. A package made by `pack` is
/// entries back to back, the central directory, and the end record, with
/// no comments and no extra fields; any other layout is refused with what was
/// found where, so nothing the signature does not cover is stored.
fn check_layout(b: &[u8]) -> Result<(), PackageError> {
    let extra = |what: String| PackageError::BadEntry {
        name: "(archive)".into(),
        reason: format!(
            "{what}: bytes outside the signed files are not accepted; pack the plugin again"
        ),
    };
    let not_zip = || PackageError::NotZip("no end-of-central-directory record".into());
    let end = b.len().checked_sub(22).ok_or_else(not_zip)?;
    if b[end..end + 4] != [0x50, 0x4b, 0x05, 0x06] {
        return Err(match eocd_entry_count(b) {
            Some(_) => extra("a comment or other data follows the archive's entries".into()),
            None => not_zip(),
        });
    }
    let entries = le16(b, end + 10).ok_or_else(not_zip)?;
    let cd_size = le32(b, end + 12).ok_or_else(not_zip)?;
    let cd_start = le32(b, end + 16).ok_or_else(not_zip)?;
    match end.checked_sub(cd_size) {
        Some(found) if found == cd_start => {}
        // Offsets that are all short by the same amount: something was
        // put in front of the archive.
        Some(found) if found > cd_start => {
            return Err(extra(format!(
                "{} bytes before the archive's first entry",
                found - cd_start
            )))
        }
        _ => {
            return Err(extra(format!(
                "the central directory ends at byte {}, the end record starts at {end}",
                cd_start.saturating_add(cd_size)
            )))
        }
    }
    // (start, end) of each entry's local header and data.
    let mut spans = Vec::with_capacity(entries.min(MAX_ENTRIES + 1));
    let mut at = cd_start;
    for _ in 0..entries {
        if le32(b, at) != Some(0x0201_4b50) {
            return Err(PackageError::NotZip(format!(
                "damaged central directory at byte {at}"
            )));
        }
        let short = || PackageError::NotZip("the central directory is cut short".into());
        let flags = le16(b, at + 8).ok_or_else(short)?;
        let compressed = le32(b, at + 20).ok_or_else(short)?;
        let (n, e, c) = (
            le16(b, at + 28).ok_or_else(short)?,
            le16(b, at + 30).ok_or_else(short)?,
            le16(b, at + 32).ok_or_else(short)?,
        );
        let local = le32(b, at + 42).ok_or_else(short)?;
        if flags & 0x8 != 0 {
            return Err(extra(format!(
                "the entry at byte {local} is followed by a data descriptor"
            )));
        }
        if le32(b, local) != Some(0x0403_4b50) {
            return Err(PackageError::NotZip(format!(
                "no entry where one should start (byte {local})"
            )));
        }
        let ln = le16(b, local + 26).ok_or_else(short)?;
        let le = le16(b, local + 28).ok_or_else(short)?;
        // `pack` writes neither: an entry's comment and extra fields (up to
        // 64 KiB each) are bytes the signature does not cover.
        if c != 0 {
            return Err(extra(format!(
                "the entry at byte {local} carries a comment of {c} bytes"
            )));
        }
        if e != 0 || le != 0 {
            return Err(extra(format!(
                "the entry at byte {local} carries {} bytes of extra fields",
                e.max(le)
            )));
        }
        spans.push((local, local + 30 + ln + le + compressed));
        at += 46 + n + e + c;
    }
    if at != end {
        return Err(extra(format!(
            "the central directory holds {} bytes more than its entries",
            end.saturating_sub(at)
        )));
    }
    spans.sort_unstable();
    let mut expected = 0;
    for (start, stop) in spans {
        if start != expected {
            return Err(extra(format!(
                "{} bytes that belong to no entry at byte {expected}",
                start.abs_diff(expected)
            )));
        }
        expected = stop;
    }
    if expected != cd_start {
        return Err(extra(format!(
            "{} bytes that belong to no entry at byte {expected}",
            cd_start.abs_diff(expected)
        )));
    }
    Ok(())
}

/// The total entry count in the End Of Central Directory record.
fn eocd_entry_count(bytes: &[u8]) -> Option<u16> {
    const SIG: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    // The record is 22 bytes plus a comment of at most 65,535 bytes.
    let start = bytes.len().saturating_sub(22 + 65_535);
    let pos = (start..=bytes.len().checked_sub(22)?)
        .rev()
        .find(|&i| bytes[i..i + 4] == SIG)?;
    Some(u16::from_le_bytes([bytes[pos + 10], bytes[pos + 11]]))
}

fn verify(
    sig_bytes: &[u8],
    files: &BTreeMap<String, Vec<u8>>,
    trusted: &[VerifyingKey],
) -> Result<String, PackageError> {
    let s: SignatureFile = serde_json::from_slice(sig_bytes)
        .map_err(|e| PackageError::Signature(format!("{SIGNATURE_FILE} is damaged: {e}")))?;
    let signer = parse_public_key(&s.signer)?;
    if !trusted.iter().any(|k| k.as_bytes() == signer.as_bytes()) {
        return Err(PackageError::Signature(format!(
            "signed by {}, which is not a trusted publisher for this tenant",
            s.signer
        )));
    }
    let mut sig = [0u8; 64];
    hex::decode_to_slice(&s.signature, &mut sig)
        .map_err(|_| PackageError::Signature("malformed signature".into()))?;
    signer
        .verify(&message(&s.files), &Signature::from_bytes(&sig))
        .map_err(|_| {
            PackageError::Signature("the signature does not match the file list".into())
        })?;
    for (path, bytes) in files {
        match s.files.get(path) {
            None => {
                return Err(PackageError::Signature(format!(
                    "{path} is not covered by the signature"
                )))
            }
            Some(h) if *h != sha256_hex(bytes) => {
                return Err(PackageError::Signature(format!(
                    "{path} was changed after signing"
                )))
            }
            Some(_) => {}
        }
    }
    if let Some(missing) = s.files.keys().find(|p| !files.contains_key(*p)) {
        return Err(PackageError::Signature(format!(
            "{missing} is signed but missing from the package"
        )));
    }
    Ok(s.signer)
}
