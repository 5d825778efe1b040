//! Signed packages: a good one installs; hostile ones are refused.

use std::collections::BTreeMap;
use std::io::Write;

use crm_plugins::package::{
    generate_key, pack, read_package, write_zip, PackageError, SIGNATURE_FILE,
};

const MANIFEST: &str = r#"{"id": "acme.demo", "name": "Demo", "version": "1.0.0", "api_version": "^1", "author": "Acme"}"#;

fn plugin_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("manifest.json"), MANIFEST).unwrap();
    std::fs::write(d.path().join("main.rhai"), "fn run() { 42 }").unwrap();
    std::fs::create_dir(d.path().join("lib")).unwrap();
    std::fs::write(d.path().join("lib/util.rhai"), "fn helper() { 1 }").unwrap();
    d
}

/// Unzip a package into a map (to tamper with it).
fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut b).unwrap();
        out.insert(f.name().unwrap().into_owned(), b);
    }
    out
}

fn refused(bytes: &[u8], trusted: &[ed25519_dalek::VerifyingKey], words: &str) {
    match read_package(bytes, trusted, false) {
        Ok(p) => panic!("package accepted: {:?}", p.files.keys().collect::<Vec<_>>()),
        Err(e) => assert!(e.to_string().contains(words), "expected {words:?} in {e}"),
    }
}

#[test]
fn a_signed_package_round_trips_and_names_its_signer() {
    let dir = plugin_dir();
    let key = generate_key();
    let bytes = pack(dir.path(), &key).unwrap();
    let pkg = read_package(&bytes, &[key.verifying_key()], false).unwrap();
    assert_eq!(pkg.manifest.id, "acme.demo");
    assert_eq!(
        pkg.files.keys().collect::<Vec<_>>(),
        ["lib/util.rhai", "main.rhai", "manifest.json"]
    );
    assert_eq!(
        pkg.signer.unwrap(),
        hex::encode(key.verifying_key().to_bytes())
    );
}

#[test]
fn tampering_unknown_signers_and_unsigned_packages_are_refused() {
    let dir = plugin_dir();
    let key = generate_key();
    let good = pack(dir.path(), &key).unwrap();
    let trusted = [key.verifying_key()];
    // A file changed after signing.
    let mut files = unzip(&good);
    files.insert("main.rhai".into(), b"fn run() { steal() }".to_vec());
    refused(
        &write_zip(&files).unwrap(),
        &trusted,
        "changed after signing",
    );
    // A file added after signing.
    let mut files = unzip(&good);
    files.insert("extra.rhai".into(), b"1".to_vec());
    refused(
        &write_zip(&files).unwrap(),
        &trusted,
        "not covered by the signature",
    );
    // A signed file removed.
    let mut files = unzip(&good);
    files.remove("lib/util.rhai");
    refused(
        &write_zip(&files).unwrap(),
        &trusted,
        "missing from the package",
    );
    // The file list rewritten to match the tampered file: the signature breaks.
    let mut files = unzip(&good);
    files.insert("main.rhai".into(), b"fn run() { 0 }".to_vec());
    let mut sig: serde_json::Value = serde_json::from_slice(&files[SIGNATURE_FILE]).unwrap();
    sig["files"]["main.rhai"] = serde_json::json!(hex::encode(
        <sha2::Sha256 as sha2::Digest>::digest(b"fn run() { 0 }")
    ));
    files.insert(SIGNATURE_FILE.into(), serde_json::to_vec(&sig).unwrap());
    refused(&write_zip(&files).unwrap(), &trusted, "does not match");
    // Signed by someone the tenant does not trust.
    refused(
        &good,
        &[generate_key().verifying_key()],
        "not a trusted publisher",
    );
    // Unsigned: only in developer mode.
    let mut files = unzip(&good);
    files.remove(SIGNATURE_FILE);
    let unsigned = write_zip(&files).unwrap();
    refused(&unsigned, &trusted, "not signed");
    assert!(read_package(&unsigned, &[], true).unwrap().signer.is_none());
}

#[test]
fn dangerous_entries_are_refused() {
    let key = generate_key();
    let trusted = [key.verifying_key()];
    for (name, words) in [
        ("../evil.rhai", "zip-slip"),
        ("lib/../../evil.rhai", "zip-slip"),
        ("/etc/cron.d/evil", "absolute"),
        ("..\\evil.rhai", "backslash"),
        ("C:/evil.rhai", "drive"),
        ("a.rhai\t0000\nb.rhai", "control characters"),
    ] {
        let mut files = BTreeMap::new();
        files.insert("manifest.json".to_string(), MANIFEST.as_bytes().to_vec());
        files.insert(name.to_string(), b"x".to_vec());
        refused(&write_zip(&files).unwrap(), &trusted, words);
    }
    // A symbolic link entry.
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    w.start_file("manifest.json", opts).unwrap();
    w.write_all(MANIFEST.as_bytes()).unwrap();
    w.add_symlink("main.rhai", "/etc/passwd", opts).unwrap();
    let bytes = w.finish().unwrap().into_inner();
    refused(&bytes, &trusted, "symbolic links");
    // The same entry twice (made by renaming b.rhai to a.rhai in place).
    let mut files = BTreeMap::new();
    files.insert("a.rhai".to_string(), b"1".to_vec());
    files.insert("b.rhai".to_string(), b"2".to_vec());
    let mut bytes = write_zip(&files).unwrap();
    let from = b"b.rhai";
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i] = b'a';
        }
        i += 1;
    }
    refused(&bytes, &trusted, "twice");
    refused(b"this is not a zip file", &trusted, "not a plugin package");
}

#[test]
fn zip_bombs_and_oversized_packages_are_refused() {
    let trusted = [generate_key().verifying_key()];
    // 50 MB of zeros compresses to ~50 KB: far beyond the ratio and size caps.
    let mut files = BTreeMap::new();
    files.insert("manifest.json".to_string(), MANIFEST.as_bytes().to_vec());
    files.insert("bomb.rhai".to_string(), vec![0u8; 50 << 20]);
    let bytes = write_zip(&files).unwrap();
    assert!(bytes.len() < 1 << 20);
    let err = read_package(&bytes, &trusted, true).unwrap_err();
    assert!(matches!(err, PackageError::TooLarge(_)), "{err}");
    // Many entries.
    let mut files = BTreeMap::new();
    for i in 0..300 {
        files.insert(format!("f{i}.rhai"), b"1".to_vec());
    }
    refused(&write_zip(&files).unwrap(), &trusted, "entries");
}

#[test]
fn packing_refuses_symlinks_and_invalid_manifests() {
    let dir = plugin_dir();
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link.rhai")).unwrap();
    let err = pack(dir.path(), &generate_key()).unwrap_err();
    assert!(err.to_string().contains("symbolic links"), "{err}");
    let dir = plugin_dir();
    std::fs::write(dir.path().join("manifest.json"), r#"{"id": "Bad Id"}"#).unwrap();
    let err = pack(dir.path(), &generate_key()).unwrap_err();
    assert!(err.to_string().starts_with("manifest.json:"), "{err}");
}

/// A package with `extra` bytes put where the signature covers nothing.
#[test]
fn bytes_outside_the_signed_files_are_refused() {
    let dir = plugin_dir();
    let key = generate_key();
    let trusted = [key.verifying_key()];
    let good = pack(dir.path(), &key).unwrap();
    read_package(&good, &trusted, false).unwrap();

    // 16 MiB of junk before the first entry (offsets shifted to match,
    // as `cat junk package.zip` followed by `zip -A` would leave them).
    let mut prepended = vec![0u8; 16 << 20];
    prepended.extend_from_slice(&good);
    refused(&prepended, &trusted, "bytes outside the signed files");

    // A 51 KB comment on the end record.
    let mut commented = good.clone();
    let n = commented.len();
    let comment = vec![b'A'; 51_000];
    commented[n - 2..].copy_from_slice(&(comment.len() as u16).to_le_bytes());
    commented.extend_from_slice(&comment);
    refused(&commented, &trusted, "bytes outside the signed files");

    // Junk after the end record.
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"junk");
    refused(&trailing, &trusted, "bytes outside the signed files");

    // Junk between the last entry and the central directory, with the end
    // record's offset moved past it (a well-formed zip to other readers).
    let cd_at = good.len() - 22 + 16;
    let cd_start = u32::from_le_bytes(good[cd_at..cd_at + 4].try_into().unwrap()) as usize;
    let mut between = good[..cd_start].to_vec();
    between.extend_from_slice(&[0x55; 1000]);
    between.extend_from_slice(&good[cd_start..]);
    let at = between.len() - 22 + 16;
    between[at..at + 4].copy_from_slice(&((cd_start + 1000) as u32).to_le_bytes());
    // The central directory's own offsets still point at the entries.
    refused(&between, &trusted, "bytes outside the signed files");

    // A comment on the first entry, and an extra field on it: each in the
    // central directory, with its size and the end record updated (a
    // well-formed zip to other readers).
    let comment_at = 32;
    refused(
        &with_central_bytes(&good, comment_at, b"not signed"),
        &trusted,
        "carries a comment",
    );
    let extra_at = 30;
    let mut field = vec![0x99, 0x99, 8, 0];
    field.extend_from_slice(b"unsigned");
    refused(
        &with_central_bytes(&good, extra_at, &field),
        &trusted,
        "bytes of extra fields",
    );

    // The good package still reads (nothing above touched it).
    read_package(&good, &trusted, false).unwrap();
}

/// `package` with `bytes` added to its first central directory header:
/// as its comment (`len_at` 32) or extra field (30), the header's length
/// field and the end record's central directory size updated.
fn with_central_bytes(package: &[u8], len_at: usize, bytes: &[u8]) -> Vec<u8> {
    let le16 = |b: &[u8], at: usize| u16::from_le_bytes(b[at..at + 2].try_into().unwrap()) as usize;
    let end = package.len() - 22;
    let cd = u32::from_le_bytes(package[end + 16..end + 20].try_into().unwrap()) as usize;
    let (n, e, c) = (
        le16(package, cd + 28),
        le16(package, cd + 30),
        le16(package, cd + 32),
    );
    assert_eq!((e, c), (0, 0), "pack writes no extra fields or comments");
    let insert_at = cd + 46 + n + if len_at == 32 { e } else { 0 };
    let mut out = package[..insert_at].to_vec();
    out.extend_from_slice(bytes);
    out.extend_from_slice(&package[insert_at..]);
    out[cd + len_at..cd + len_at + 2].copy_from_slice(&(bytes.len() as u16).to_le_bytes());
    let end = out.len() - 22;
    let size = u32::from_le_bytes(out[end + 12..end + 16].try_into().unwrap()) + bytes.len() as u32;
    out[end + 12..end + 16].copy_from_slice(&size.to_le_bytes());
    out
}
