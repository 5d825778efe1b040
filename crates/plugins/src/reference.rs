//! The host-API reference (`docs/host-api.md`), generated from the metadata
//! Rhai keeps of the registered functions (names, parameters, return types,
//! doc comments). A test fails when the committed file is stale, so the
//! reference cannot drift from the code.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Deserialize;

use crate::sandbox::{Limits, Sandbox};

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    modules: BTreeMap<String, ModuleMeta>,
}

#[derive(Deserialize)]
struct ModuleMeta {
    #[serde(default)]
    functions: Vec<FnMeta>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FnMeta {
    name: String,
    #[serde(default)]
    params: Vec<Param>,
    #[serde(default)]
    return_type: String,
    #[serde(default)]
    doc_comments: Vec<String>,
}

#[derive(Deserialize)]
struct Param {
    #[serde(default)]
    name: String,
    #[serde(rename = "type", default)]
    kind: String,
}

/// The reference as Markdown.
pub fn host_api_markdown() -> Result<String, String> {
    let sandbox = Sandbox::new(Limits::default());
    let json = sandbox
        .engine()
        .gen_fn_metadata_to_json(false)
        .map_err(|e| e.to_string())?;
    let meta: Meta = serde_json::from_str(&json).map_err(|e| e.to_string())?;
    let mut out = String::new();
    out.push_str("# Plugin host API reference\n\n");
    out.push_str("Generated from the functions the sandbox registers (`cargo test -p crm-plugins --test templates` fails when this file is stale; regenerate with `UPDATE_DOCS=1 cargo test -p crm-plugins --test templates`). Do not edit by hand.\n\n");
    out.push_str("Call a function as `module::name(args)`. A function that needs a permission fails with a `permission` error when the plugin was not granted it. Reads and writes count against the invocation's caps (`limit` errors).\n\n");
    for (name, m) in &meta.modules {
        let _ = writeln!(out, "## `{name}`\n");
        let mut fns: Vec<&FnMeta> = m.functions.iter().collect();
        fns.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then(a.params.len().cmp(&b.params.len()))
        });
        for f in fns {
            let params: Vec<String> = f
                .params
                .iter()
                .map(|p| {
                    if p.kind.is_empty() {
                        p.name.clone()
                    } else {
                        format!("{}: {}", p.name, p.kind)
                    }
                })
                .collect();
            let ret = if f.return_type.is_empty() {
                String::new()
            } else {
                format!(" -> {}", f.return_type)
            };
            let _ = writeln!(
                out,
                "### `{name}::{}({}){ret}`\n",
                f.name,
                params.join(", ")
            );
            for c in &f.doc_comments {
                let text = c.trim_start_matches("///").trim();
                let _ = writeln!(out, "{text}");
            }
            out.push('\n');
        }
    }
    records(&mut out);
    Ok(out)
}

/// The record shapes scripts receive: the contract of this host API
/// version (see [`crate::contract`]).
fn records(out: &mut String) {
    let _ = writeln!(
        out,
        "## Records (host API {})
",
        crate::manifest::API_VERSION
    );
    out.push_str("The maps scripts receive. They change only with the host API's version: within a major version fields are only added (`api_version: \"^1\"` in a manifest keeps a plugin on shapes it knows). A field with no value is `()`.\n\n");
    for shape in crate::contract::SHAPES {
        let _ = writeln!(out, "### `{}`\n\n{}\n", shape.kind, shape.doc);
        out.push_str("| field | value |\n|---|---|\n");
        for f in shape.fields {
            let _ = writeln!(out, "| `{}` | {} |", f.name, f.ty);
        }
        out.push('\n');
    }
}
