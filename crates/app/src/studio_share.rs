//! Sharing from the Studio: a plugin exported as a package signed with
//! this profile's publisher key (`crm_plugins::publisher`), or saved as a
//! plain folder to edit elsewhere. Installing either is the Plugins
//! screen's install.

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
    /// Export plugin `id` as a package signed with this profile's publisher
    /// key (made on first use, kept in the OS keyring when one answers).
    pub fn studio_export_package(&self, id: &str, path: &str) -> ApiResult<PackageExportDto> {
        let out = self.write(|s| {
            crm_plugins::publisher::export(s, id)
                .map_err(|e| ApiError::new(ErrorCode::Plugin, e.to_string()))
        })?;
        write_new(Path::new(path), &out.package)?;
        Ok(PackageExportDto {
            path: path.to_string(),
            publisher_key: hex::encode(out.public_key.to_bytes()),
            kept_in: match out.home {
                crm_plugins::publisher::KeyHome::Keyring => "keyring",
                crm_plugins::publisher::KeyHome::Profile => "profile",
            }
            .into(),
            files: out.files as u32,
        })
    }

    /// Save plugin `id`'s files into folder `dir` (made if missing; an
    /// existing one must be empty, so nothing of the person's is
    /// overwritten). Returns the files written.
    pub fn studio_save_folder(&self, id: &str, dir: &str) -> ApiResult<Vec<String>> {
        let files = self.read(|s| {
            crm_plugins::publisher::shared_files(s, id)
                .map_err(|e| ApiError::new(ErrorCode::Plugin, e.to_string()))
        })?;
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
        crate::studio_code::write_files(root, &files)?;
        let written = files.into_keys().collect();
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
