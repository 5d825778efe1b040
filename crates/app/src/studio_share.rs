//! Sharing from the Studio: a plugin exported as a package signed with
//! this profile's publisher key (`crm_plugins::publisher`), or saved as a
//! plain folder to edit elsewhere. Installing either is the Plugins
//! screen's install.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use ts_rs::TS;

use crate::{ApiError, ApiResult, App, ErrorCode};

/// A package written by [`App::studio_export_package`].
#[derive(Clone, Debug, Serialize, TS)]
pub struct PackageExportDto {
    /// Where it was written.
    pub path: String,
    /// The publisher key it is signed with (public half, hex): what another
    /// tenant trusts to install it.
    pub publisher_key: String,
    /// `keyring` or `profile`: where the secret half is kept.
    pub kept_in: String,
    /// Files in the package, the signature left out.
    pub files: u32,
}

impl App {
    /// The files of installed plugin `id` as it would be shared: the
    /// package's files without its old signature.
    fn shared_files(&self, id: &str) -> ApiResult<BTreeMap<String, Vec<u8>>> {
        let rec = self.read(|s| Ok(s.plugin(id)?))?;
        let mut files = self.package_files(&rec)?;
        files.remove(crm_plugins::package::SIGNATURE_FILE);
        Ok(files)
    }

    /// Export plugin `id` as a package signed with this profile's publisher
    /// key (made on first use, kept in the OS keyring when one answers).
    pub fn studio_export_package(&self, id: &str, path: &str) -> ApiResult<PackageExportDto> {
        let files = self.shared_files(id)?;
        let count = files.len() as u32;
        let (key, home) = self.write(|s| {
            crm_plugins::publisher::publisher_key(s)
                .map_err(|e| ApiError::new(ErrorCode::Plugin, e.to_string()))
        })?;
        let bytes = crm_plugins::package::pack_files(files, &key)
            .map_err(|e| ApiError::new(ErrorCode::Plugin, format!("{id}: {e}")))?;
        let target = Path::new(path);
        write_new(target, &bytes)?;
        Ok(PackageExportDto {
            path: path.to_string(),
            publisher_key: hex::encode(key.verifying_key().to_bytes()),
            kept_in: match home {
                crm_plugins::publisher::KeyHome::Keyring => "keyring",
                crm_plugins::publisher::KeyHome::Profile => "profile",
            }
            .into(),
            files: count,
        })
    }

    /// Save plugin `id`'s files into folder `dir` (made if missing; an
    /// existing one must be empty, so nothing of the person's is
    /// overwritten). Returns the files written.
    pub fn studio_save_folder(&self, id: &str, dir: &str) -> ApiResult<Vec<String>> {
        let files = self.shared_files(id)?;
        let root = Path::new(dir);
        let io =
            |e: std::io::Error| ApiError::new(ErrorCode::Io, format!("{}: {e}", root.display()));
        if root.exists() && std::fs::read_dir(root).map_err(io)?.next().is_some() {
            return Err(ApiError::invalid(
                "folder",
                format!(
                    "{} is not empty: choose an empty or new folder, so nothing in it is overwritten",
                    root.display()
                ),
            ));
        }
        std::fs::create_dir_all(root).map_err(io)?;
        let mut written = Vec::new();
        for (name, bytes) in files {
            // Names were checked when the package was read (no `..`, no
            // absolute paths), so they stay inside the folder.
            let path = root.join(&name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            std::fs::write(&path, bytes).map_err(io)?;
            written.push(name);
        }
        Ok(written)
    }
}

/// Write `bytes` to `path` whole or not at all (a temporary file beside it,
/// renamed over it).
fn write_new(path: &Path, bytes: &[u8]) -> ApiResult<()> {
    let io = |e: std::io::Error| ApiError::new(ErrorCode::Io, format!("{}: {e}", path.display()));
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}
