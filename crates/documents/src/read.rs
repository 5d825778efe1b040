//! Reading passages and pages back from the store, for search results,
//! citations and the viewer.

use crm_core::Store;
use rusqlite::OptionalExtension;

use crate::model::{DocsError, Hit, Result};
use crate::viewer::Viewer;

const HIT_SQL: &str = "SELECT p.id, p.doc_id, d.title, v.file_name, p.version, \
     CASE WHEN v.paged THEN p.page END, p.heading, p.page, p.start, p.end, d.status, \
     d.audience, d.live_version \
     FROM documents_passages p JOIN documents_docs d ON d.id = p.doc_id \
     JOIN documents_versions v ON v.doc_id = p.doc_id AND v.version = p.version";

/// A hit without its text yet, with where the text is.
struct Row {
    hit: Hit,
    page: i64,
    status: String,
    audience: Vec<String>,
    live: Option<i64>,
}

fn hit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let audience: String = r.get(11)?;
    Ok(Row {
        hit: Hit {
            passage_id: r.get(0)?,
            document_id: r.get(1)?,
            title: r.get(2)?,
            file_name: r.get(3)?,
            version: r.get(4)?,
            page: r.get(5)?,
            heading: r.get(6)?,
            text: String::new(),
            start: r.get(8)?,
            end: r.get(9)?,
            score: 0.0,
            highlights: Vec::new(),
        },
        page: r.get(7)?,
        status: r.get(10)?,
        audience: serde_json::from_str(&audience).unwrap_or_default(),
        live: r.get(12)?,
    })
}

/// The text of characters `start..end` of each span of `text`, in one
/// pass (spans in any order). Slicing in SQL (`substr`) read the whole
/// page again for every passage: quadratic on a one-page 10 MB file.
pub(crate) fn slices(text: &str, spans: &[(usize, usize)]) -> Vec<String> {
    let mut wanted: Vec<usize> = spans.iter().flat_map(|&(s, e)| [s, e]).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut at = std::collections::HashMap::with_capacity(wanted.len());
    let mut next = wanted.iter().peekable();
    for (n, (byte, _)) in text.char_indices().chain([(text.len(), ' ')]).enumerate() {
        while next.peek().is_some_and(|&&w| w == n) {
            at.insert(n, byte);
            next.next();
        }
        if next.peek().is_none() {
            break;
        }
    }
    spans
        .iter()
        .map(|&(s, e)| {
            let from = at.get(&s).copied().unwrap_or(text.len());
            let to = at.get(&e).copied().unwrap_or(text.len()).max(from);
            text[from..to].to_string()
        })
        .collect()
}

/// Each page's text of a version, by page number.
fn pages_of(
    c: &rusqlite::Connection,
    id: &str,
    version: i64,
    only: Option<&[i64]>,
) -> rusqlite::Result<std::collections::HashMap<i64, String>> {
    let mut st = c.prepare_cached(
        "SELECT page, text FROM documents_pages WHERE doc_id = ?1 AND version = ?2",
    )?;
    let rows = st.query_map(rusqlite::params![id, version], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    let mut out = std::collections::HashMap::new();
    for row in rows {
        let (page, text): (i64, String) = row?;
        if only.is_none_or(|o| o.contains(&page)) {
            out.insert(page, text);
        }
    }
    Ok(out)
}

/// A version's passages for the index: id, title and heading path, text.
pub(crate) fn passages_of(
    store: &Store,
    id: &str,
    version: i64,
) -> Result<Vec<(i64, String, String)>> {
    Ok(store.feature_read(|c| {
        let title: String = c.query_row(
            "SELECT title FROM documents_docs WHERE id = ?1",
            [id],
            |r| r.get(0),
        )?;
        let pages = pages_of(c, id, version, None)?;
        let mut st = c.prepare_cached(
            "SELECT id, page, heading, start, end FROM documents_passages \
             WHERE doc_id = ?1 AND version = ?2 ORDER BY page, start",
        )?;
        let rows = st
            .query_map(rusqlite::params![id, version], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunk_by(|a, b| a.1 == b.1) {
            let text = pages.get(&chunk[0].1).map(String::as_str).unwrap_or("");
            let spans: Vec<(usize, usize)> = chunk
                .iter()
                .map(|r| (r.3.max(0) as usize, r.4.max(0) as usize))
                .collect();
            for (r, body) in chunk.iter().zip(slices(text, &spans)) {
                out.push((r.0, format!("{title} {}", r.2), body));
            }
        }
        Ok(out)
    })?)
}

/// Fill in each row's text from its page, read once per page.
fn with_text(c: &rusqlite::Connection, rows: &mut [Row]) -> rusqlite::Result<()> {
    let mut by_page: std::collections::BTreeMap<(String, i64, i64), Vec<usize>> =
        std::collections::BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        by_page
            .entry((r.hit.document_id.clone(), r.hit.version, r.page))
            .or_default()
            .push(i);
    }
    for ((doc, version, page), idx) in by_page {
        let pages = pages_of(c, &doc, version, Some(&[page]))?;
        let text = pages.get(&page).map(String::as_str).unwrap_or("");
        let spans: Vec<(usize, usize)> = idx
            .iter()
            .map(|&i| {
                (
                    rows[i].hit.start.max(0) as usize,
                    rows[i].hit.end.max(0) as usize,
                )
            })
            .collect();
        for (&i, body) in idx.iter().zip(slices(text, &spans)) {
            rows[i].hit.text = body;
        }
    }
    Ok(())
}

/// The passages `ranked` (id, score), in that order, checked again
/// against the store: a document retired or narrowed by another process
/// since the index caught up is left out.
pub(crate) fn hits(store: &Store, viewer: &Viewer, ranked: &[(i64, f32)]) -> Result<Vec<Hit>> {
    if ranked.is_empty() {
        return Ok(Vec::new());
    }
    let ids = serde_json::to_string(&ranked.iter().map(|(id, _)| *id).collect::<Vec<_>>())
        .map_err(crm_core::CoreError::from)?;
    let rows = store.feature_read(|c| {
        let mut st = c.prepare_cached(&format!(
            "{HIT_SQL} WHERE p.id IN (SELECT value FROM json_each(?1))"
        ))?;
        let rows = st.query_map([ids], hit_row)?;
        let mut rows: Vec<Row> = rows
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .filter(|r| {
                r.status == "published"
                    && r.live == Some(r.hit.version)
                    && viewer.may_search(&r.audience)
            })
            .collect();
        with_text(c, &mut rows)?;
        Ok(rows)
    })?;
    let mut found: Vec<Hit> = rows.into_iter().map(|r| r.hit).collect();
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
        let row = c
            .query_row(
                &format!("{HIT_SQL} WHERE p.id = ?1 AND (d.live_version = p.version OR ?2)"),
                rusqlite::params![id, viewer.admin],
                hit_row,
            )
            .optional()?;
        let mut rows: Vec<Row> = row.into_iter().collect();
        with_text(c, &mut rows)?;
        Ok(rows.pop())
    })?;
    let not_found = || DocsError::NotFound(format!("passage {id}"));
    let row = found.ok_or_else(not_found)?;
    if !viewer.admin && (row.status != "published" || !viewer.may_search(&row.audience)) {
        return Err(not_found());
    }
    let hit = row.hit;
    Ok(hit)
}

/// A page's text, as the viewer shows it.
pub fn page_text(store: &Store, id: &str, version: i64, page: i64) -> Result<String> {
    crate::library::check_version_visible(store, id, version)?;
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

#[cfg(test)]
mod tests {
    use super::slices;

    #[test]
    fn spans_are_characters_sliced_in_one_pass() {
        let text = "£5 – café. Next part.";
        assert_eq!(
            slices(text, &[(11, 21), (0, 10), (3, 4)]),
            vec!["Next part.", "£5 – café.", "–"]
        );
        assert_eq!(slices(text, &[(30, 40)]), vec![""]);
    }
}
