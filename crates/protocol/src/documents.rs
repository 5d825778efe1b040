//! The tenant's documents library on the wire (`/v1/documents…`): an
//! admin's device uploads published documents (their file in chunks, then
//! what the document is); every device pulls what its user's audience
//! allows, and fetches each file by chunk, so a large file resumes where a
//! lost connection left it.

use serde::{Deserialize, Serialize};

/// A file travels in chunks of at most this many bytes.
pub const CHUNK: usize = 1 << 20;

/// Largest file a document may have, bytes (what a device reads at most).
pub const MAX_FILE: u64 = 100 << 20;

/// How many chunks a file of `size` bytes is in (an empty file is one).
pub fn chunks_of(size: u64) -> u64 {
    size.div_ceil(CHUNK as u64).max(1)
}

/// One document as the server keeps it: metadata and its version in force.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DocumentEntry {
    /// The document's id (the same on every device).
    pub id: String,
    /// Its title.
    pub title: String,
    /// `published` or `retired` (devices other than admins' only ever see
    /// published ones).
    pub status: String,
    /// Who may see it: `everyone`, `role:R`, `team:T`.
    pub audience: Vec<String>,
    /// Who answers for it.
    #[serde(default)]
    pub owner: Option<String>,
    /// From when it applies, `YYYY-MM-DD`.
    #[serde(default)]
    pub effective_date: Option<String>,
    /// When it is next reviewed, `YYYY-MM-DD`.
    #[serde(default)]
    pub review_date: Option<String>,
    /// The version in force.
    pub version: i64,
    /// Its file's name, as added.
    pub file_name: String,
    /// Its file's SHA-256, hex.
    pub sha256: String,
    /// Its file's size, bytes.
    pub size: u64,
    /// What changed in this version.
    #[serde(default)]
    pub change_note: Option<String>,
    /// A newer version of a controlled document (a policy or SOP), waiting
    /// for a second admin's approval before it is published: sent to and
    /// by admins only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingVersion>,
}

/// A version of a controlled document not yet in force.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PendingVersion {
    /// Its number (above the version in force).
    pub version: i64,
    /// Its file's name, as added.
    pub file_name: String,
    /// Its file's SHA-256, hex.
    pub sha256: String,
    /// Its file's size, bytes.
    pub size: u64,
    /// What changed in it.
    #[serde(default)]
    pub change_note: Option<String>,
}

/// `GET /v1/documents`: the documents this device's user may have.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocumentsResponse {
    /// Nothing changed since the revision and viewer sent: `documents` is
    /// empty and what the device has stands.
    pub unchanged: bool,
    /// The library's revision (send it back as `since`).
    pub revision: i64,
    /// Who the answer is for, `ROLE` or `ROLE:TEAM` (send it back as
    /// `viewer`: a new role or team is a new answer).
    pub viewer: String,
    /// The user's role.
    pub role: String,
    /// The user's team, if any.
    pub team: Option<String>,
    /// Every document the user may have (all of them when not unchanged:
    /// one missing from this list leaves the device).
    pub documents: Vec<DocumentEntry>,
}

/// `GET /v1/documents/files/{sha256}`: which chunks of a file the server
/// holds (an upload resumes from the first one missing).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileChunks {
    /// The chunk numbers held, ascending.
    pub have: Vec<u64>,
}

/// What is wrong with an audience entry (`everyone`, `role:R`, `team:T`),
/// if anything: the same rule on devices and the server.
pub fn audience_error(a: &str) -> Option<String> {
    if a == "everyone" {
        return None;
    }
    let Some((kind, name)) = a.split_once(':') else {
        return Some(format!("{a:?}: use everyone, role:ROLE or team:TEAM"));
    };
    if name.trim().is_empty() || name.len() > 80 || name.trim() != name {
        return Some(format!(
            "{a:?}: name a role or team (1 to 80 characters, no spaces around it)"
        ));
    }
    match kind {
        "role" if name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') => None,
        "role" => Some(format!(
            "{a:?}: a role is a lower-case word, e.g. role:agent or role:admin"
        )),
        "team" => None,
        _ => Some(format!("{a:?}: use everyone, role:ROLE or team:TEAM")),
    }
}

/// The audience terms that include a user with `role` in `team`.
pub fn viewer_terms(role: &str, team: Option<&str>) -> Vec<String> {
    let mut terms = vec!["everyone".to_string(), format!("role:{role}")];
    if let Some(t) = team {
        terms.push(format!("team:{t}"));
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences_are_checked() {
        for ok in ["everyone", "role:agent", "team:North Leeds"] {
            assert_eq!(audience_error(ok), None, "{ok}");
        }
        for bad in ["all", "team:", "role:Agent", "group:x", "team: x"] {
            assert!(audience_error(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn chunks_cover_a_file() {
        assert_eq!(chunks_of(0), 1);
        assert_eq!(chunks_of(1), 1);
        assert_eq!(chunks_of(CHUNK as u64), 1);
        assert_eq!(chunks_of(CHUNK as u64 + 1), 2);
    }
}
