//! The host-API reference (`docs/host-api.md`), generated from the metadata
//! Rhai keeps of the registered functions (names, parameters, return types,
//! doc comments). A test fails when the committed file is stale, so the
//! reference cannot drift from the code.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

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

/// The host API as data, for the editor's completion and hover help and
/// `crm plugin reference --json`: every module and function the sandbox
/// registers, with parameters, return type, documentation and the
/// permission it needs, and the record shapes scripts receive.
#[derive(Clone, Debug, Serialize)]
pub struct Reference {
    /// The host API version these describe.
    pub api_version: String,
    /// Modules by name, each function sorted by name then arity.
    pub modules: Vec<ModuleRef>,
    /// The maps scripts receive, by kind.
    pub records: Vec<RecordRef>,
}

/// One host module (`contacts`, `http`…).
#[derive(Clone, Debug, Serialize)]
pub struct ModuleRef {
    /// Its name, as scripts write it before `::`.
    pub name: String,
    /// Its functions.
    pub functions: Vec<FunctionRef>,
}

/// One host function.
#[derive(Clone, Debug, Serialize)]
pub struct FunctionRef {
    /// Its name.
    pub name: String,
    /// Its parameters in order.
    pub params: Vec<ParamRef>,
    /// What it returns, as Rhai names the type (`None`: nothing).
    pub returns: Option<String>,
    /// Its documentation, its lines as written.
    pub doc: String,
    /// The permission it needs, as its documentation names it ("Needs
    /// contacts:read."), if any.
    pub permission: Option<String>,
}

/// A function parameter.
#[derive(Clone, Debug, Serialize)]
pub struct ParamRef {
    /// Its name.
    pub name: String,
    /// Its type as Rhai names it (may be empty).
    #[serde(rename = "type")]
    pub ty: String,
}

/// A record shape scripts receive.
#[derive(Clone, Debug, Serialize)]
pub struct RecordRef {
    /// `contact`, `policy`…
    pub kind: &'static str,
    /// What it is.
    pub doc: &'static str,
    /// Its fields: (name, value type).
    pub fields: Vec<(&'static str, &'static str)>,
}

/// The reference, from the engine the sandbox runs.
pub fn host_api() -> Result<Reference, String> {
    let sandbox = Sandbox::new(Limits::default());
    let json = sandbox
        .engine()
        .gen_fn_metadata_to_json(false)
        .map_err(|e| e.to_string())?;
    let meta: Meta = serde_json::from_str(&json).map_err(|e| e.to_string())?;
    let modules = meta
        .modules
        .into_iter()
        .map(|(name, m)| {
            let mut functions: Vec<FunctionRef> = m
                .functions
                .into_iter()
                .map(|f| {
                    let doc = f
                        .doc_comments
                        .iter()
                        .map(|c| c.trim_start_matches("///").trim())
                        .collect::<Vec<_>>()
                        .join("\n");
                    FunctionRef {
                        permission: needs(&doc),
                        name: f.name,
                        params: f
                            .params
                            .into_iter()
                            .map(|p| ParamRef {
                                name: p.name,
                                ty: p.kind,
                            })
                            .collect(),
                        returns: (!f.return_type.is_empty()).then_some(f.return_type),
                        doc,
                    }
                })
                .collect();
            functions.sort_by(|a, b| {
                a.name
                    .cmp(&b.name)
                    .then(a.params.len().cmp(&b.params.len()))
            });
            ModuleRef { name, functions }
        })
        .collect();
    let records = crate::contract::SHAPES
        .iter()
        .map(|shape| RecordRef {
            kind: shape.kind,
            doc: shape.doc,
            fields: shape.fields.iter().map(|f| (f.name, f.ty)).collect(),
        })
        .collect();
    Ok(Reference {
        api_version: crate::manifest::API_VERSION.to_string(),
        modules,
        records,
    })
}

/// The permission a function's documentation names: "… Needs
/// contacts:read." (the host modules' convention); `net:https://host` for
/// the network, whose origin each plugin declares.
fn needs(doc: &str) -> Option<String> {
    let (_, rest) = doc.rsplit_once("Needs ")?;
    let perm = rest.split_whitespace().next()?.trim_end_matches(['.', ',']);
    Some(perm.to_string())
}

/// The reference as Markdown.
pub fn host_api_markdown() -> Result<String, String> {
    let reference = host_api()?;
    let mut out = String::new();
    out.push_str("# Plugin host API reference\n\n");
    out.push_str("Generated from the functions the sandbox registers (`cargo test -p crm-plugins --test templates` fails when this file is stale; regenerate with `UPDATE_DOCS=1 cargo test -p crm-plugins --test templates`). Do not edit by hand.\n\n");
    out.push_str("Call a function as `module::name(args)`. A function that needs a permission fails with a `permission` error when the plugin was not granted it. Reads and writes count against the invocation's caps (`limit` errors).\n\n");
    for m in &reference.modules {
        let _ = writeln!(out, "## `{}`\n", m.name);
        for f in &m.functions {
            let params: Vec<String> = f
                .params
                .iter()
                .map(|p| {
                    if p.ty.is_empty() {
                        p.name.clone()
                    } else {
                        format!("{}: {}", p.name, p.ty)
                    }
                })
                .collect();
            let ret = f
                .returns
                .as_deref()
                .map_or_else(String::new, |r| format!(" -> {r}"));
            let _ = writeln!(
                out,
                "### `{}::{}({}){ret}`\n",
                m.name,
                f.name,
                params.join(", ")
            );
            let _ = writeln!(out, "{}", f.doc);
            out.push('\n');
        }
    }
    events(&mut out);
    records(&mut out);
    Ok(out)
}

/// The events a manifest's `hooks` may name, and the record each hook
/// receives.
fn events(out: &mut String) {
    out.push_str("## Events\n\n");
    out.push_str("A manifest's `hooks` name one of these events; the hook function is called with the record named. A change to a record is announced after it is committed; a compliance reminder when `crm compliance remind` (or the app's own reminder run) makes it, once per reminder.\n\n");
    out.push_str("| event | the hook receives |\n|---|---|\n");
    for e in crate::manifest::HOOKS {
        let what = if crate::manifest::REMINDER_HOOKS.contains(e) {
            "`reminder` (since 1.3)"
        } else if *e == "policy.renewal_due" {
            "`event` (accepted, not emitted yet)"
        } else {
            "`event`"
        };
        let _ = writeln!(out, "| `{e}` | {what} |");
    }
    out.push('\n');
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every function the sandbox registers is in the reference under its
    /// module, and every permission the documentation names is one a
    /// manifest may declare: completion and the manifest check can trust
    /// it.
    #[test]
    fn the_reference_is_the_engines_and_its_permissions_are_real() {
        let r = host_api().expect("reference");
        let find = |m: &str, f: &str| {
            r.modules
                .iter()
                .find(|x| x.name == m)
                .and_then(|x| x.functions.iter().find(|y| y.name == f))
        };
        let get = find("contacts", "get").expect("contacts::get");
        assert_eq!(get.permission.as_deref(), Some("contacts:read"));
        assert_eq!(get.params.len(), 1);
        assert!(get.doc.contains("One contact"), "{}", get.doc);
        let post = find("http", "post").expect("http::post");
        assert_eq!(post.permission.as_deref(), Some("net:https://host"));
        let mut with = 0;
        for m in &r.modules {
            for f in &m.functions {
                if let Some(p) = &f.permission {
                    with += 1;
                    assert_eq!(
                        crate::manifest::check_permission(p),
                        None,
                        "{}::{} names {p:?}",
                        m.name,
                        f.name
                    );
                }
            }
        }
        assert!(with > 10, "{with} functions name a permission");
        assert!(r.records.iter().any(|x| x.kind == "contact"));
    }
}
