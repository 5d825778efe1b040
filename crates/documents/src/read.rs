//! Reading passages and pages back from the store, for search results,
//! citations and the viewer.

use crm_core::Store;
use rusqlite::OptionalExtension;

use crate::model::{DocsError, Hit, Result};
use crate::viewer::Viewer;

const HIT_SQL: &str = "SELECT p.id, p.doc_id, d.title, v.file_name, p.version, \
     CASE WHEN v.paged THEN p.page END, p.heading, \
     substr(g.text, p.start + 1, p.end - p.start), p.start, p.end, d.status, d.audience \
     FROM documents_passages p JOIN documents_docs d ON d.id = p.doc_id \
     JOIN documents_versions v ON v.doc_id = p.doc_id AND v.version = p.version \
     JOIN documents_pages g ON g.doc_id = p.doc_id AND g.version = p.version AND g.page = p.page";

fn hit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Hit> {
    Ok(Hit {
        passage_id: r.get(0)?,
        document_id: r.get(1)?,
        title: r.get(2)?,
        file_name: r.get(3)?,
        version: r.get(4)?,
        page: r.get(5)?,
        heading: r.get(6)?,
        text: r.get(7)?,
        start: r.get(8)?,
        end: r.get(9)?,
        score: 0.0,
        highlights: Vec::new(),
    })
}

/// The passages `ranked` (id, score), in that order.
pub(crate) fn hits(store: &Store, ranked: &[(i64, f32)]) -> Result<Vec<Hit>> {
    if ranked.is_empty() {
        return Ok(Vec::new());
    }
    let ids = serde_json::to_string(&ranked.iter().map(|(id, _)| *id).collect::<Vec<_>>())
        .map_err(crm_core::CoreError::from)?;
    let mut found = store.feature_read(|c| {
        let mut st = c.prepare_cached(&format!(
            "{HIT_SQL} WHERE p.id IN (SELECT value FROM json_each(?1))"
        ))?;
        let rows = st.query_map([ids], hit_row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
    })?;
    let order: std::collections::HashMap<i64, (usize, f32)> = ranked
        .iter()
        .enumerate()
        .map(|(i, (id, s))| (*id, (i, *s)))
        .collect();
    for h in &mut found {
        if let Some((_, s)) = order.get(&h.passage_id) {
            h.score = *s;
        }
    }
    found.sort_by_key(|h| order.get(&h.passage_id).map_or(usize::MAX, |(i, _)| *i));
    Ok(found)
}

/// One passage, if `viewer` may see its document and it is the live
/// version's (a citation of an older version still opens, for admins).
pub fn passage(store: &Store, viewer: &Viewer, id: i64) -> Result<Hit> {
    if !crate::schema::installed(store)? {
        return Err(DocsError::NotFound(format!("passage {id}")));
    }
    let found = store.feature_read(|c| {
        c.query_row(
            &format!("{HIT_SQL} WHERE p.id = ?1 AND (d.live_version = p.version OR ?2)"),
            rusqlite::params![id, viewer.admin],
            |r| {
                let hit = hit_row(r)?;
                let status: String = r.get(10)?;
                let audience: String = r.get(11)?;
                Ok((hit, status, audience))
            },
        )
        .optional()
    })?;
    let not_found = || DocsError::NotFound(format!("passage {id}"));
    let (hit, status, audience) = found.ok_or_else(not_found)?;
    let audience: Vec<String> = serde_json::from_str(&audience).unwrap_or_default();
    if !viewer.admin && (status != "published" || !viewer.may_search(&audience)) {
        return Err(not_found());
    }
    Ok(hit)
}

/// A page's text, as the viewer shows it.
pub fn page_text(store: &mut Store, id: &str, version: i64, page: i64) -> Result<String> {
    crate::library::get(store, id)?;
    store
        .feature_read(|c| {
            c.query_row(
                "SELECT text FROM documents_pages WHERE doc_id = ?1 AND version = ?2 AND page = ?3",
                rusqlite::params![id, version, page],
                |r| r.get(0),
            )
            .optional()
        })?
        .ok_or_else(|| DocsError::NotFound(format!("{id} version {version} page {page}")))
}
