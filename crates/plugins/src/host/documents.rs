//! The `documents` module: search the documents library and read a
//! passage, as the user the plugin acts for would (their audience, never
//! more), behind `documents:read`.

use rhai::{Array, Dynamic, Engine, FuncRegistration, Module, INT};

use super::{fail, limit_of, read, record, HostResult};
use crate::sandbox::ErrorKind;

fn docs_err(e: crm_documents::DocsError) -> Box<rhai::EvalAltResult> {
    fail(ErrorKind::Runtime, format!("documents: {e}"))
}

pub(super) fn register_documents(engine: &mut Engine) {
    let mut m = Module::new();
    func!(
        m,
        "search",
        ["query: &str", "limit: i64", "Array"],
        "The passages of the documents the user may see that best match `query` (words, or \"a quoted phrase\"), best first, at most `limit` (up to 1,000). Needs documents:read.",
        |query: &str, limit: INT| -> HostResult<Dynamic> {
            read("documents:read", |s, budget| {
                let viewer = crm_documents::Viewer::of(s).map_err(docs_err)?;
                let limit = limit_of(limit, budget).min(crm_documents::MAX_HITS);
                if limit == 0 {
                    return Ok((Dynamic::from_array(Array::new()), 0));
                }
                let hits = crm_documents::search_shared(s, &viewer, query, limit)
                    .map_err(docs_err)?;
                let items = hits.iter().map(record).collect::<HostResult<Array>>()?;
                let n = items.len();
                Ok((Dynamic::from_array(items), n))
            })
        }
    );
    func!(
        m,
        "passage",
        ["passage_id: i64", "Map"],
        "One passage by its `passage_id` (from `search`), if the user may see its document. Needs documents:read.",
        |id: INT| -> HostResult<Dynamic> {
            read("documents:read", |s, _| {
                let viewer = crm_documents::Viewer::of(s).map_err(docs_err)?;
                let hit = crm_documents::passage(s, &viewer, id).map_err(docs_err)?;
                Ok((record(&hit)?, 1))
            })
        }
    );
    engine.register_static_module("documents", m.into());
}
