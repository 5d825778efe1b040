//! `crm docs …`: the documents library (add, list, search, ask, publish,
//! retire, versions). Our own end-to-end checks use exactly these.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use anyhow::{Context, Result};
use clap::Subcommand;
use crm_documents::{self as docs, AddOptions, DocIndex, ListQuery, Viewer};
use crm_extract::Extractor;
use indicatif::{ProgressBar, ProgressStyle};

use crate::{Profile, CANCELLABLE, INTERRUPTED};

#[derive(Subcommand)]
pub enum DocsCmd {
    /// Add files or folders (every supported file in a folder): PDF, Word
    /// (.docx), HTML, Markdown, text. A file named like a document already
    /// in the library becomes its new version.
    Add {
        /// Files and folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Who may see them: everyone, role:R or team:T (repeat for more);
        /// everyone unless given.
        #[arg(long)]
        audience: Vec<String>,
        /// Title (one file only; otherwise each file's first heading or name).
        #[arg(long)]
        title: Option<String>,
        /// Keep as drafts (not published).
        #[arg(long)]
        draft: bool,
        /// What changed (for a new version).
        #[arg(long)]
        note: Option<String>,
        /// JSON output: one object per file.
        #[arg(long)]
        json: bool,
    },
    /// List the documents you can see.
    List {
        /// Only titles or file names containing this.
        #[arg(long)]
        filter: Option<String>,
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Search the documents you can see, best passages first.
    Search {
        /// Words, or "a quoted phrase".
        query: String,
        /// At most this many hits (up to 1,000).
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Ask a question: answered from the documents you can see, with sources.
    Ask {
        /// The question.
        question: String,
        /// JSON output (the answer, its sources and any note).
        #[arg(long)]
        json: bool,
    },
    /// Publish a document to its audience.
    Publish {
        /// Document id.
        id: String,
    },
    /// Retire a document: no one searches it; devices drop it at their next sync.
    Retire {
        /// Document id.
        id: String,
    },
    /// A document's versions, newest first.
    Versions {
        /// Document id.
        id: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Change a document's title, owner, effective or review date ("" clears).
    Set {
        /// Document id.
        id: String,
        /// Title.
        #[arg(long)]
        title: Option<String>,
        /// Who answers for it.
        #[arg(long)]
        owner: Option<String>,
        /// From when it applies (YYYY-MM-DD).
        #[arg(long)]
        effective: Option<String>,
        /// When it is next reviewed (YYYY-MM-DD).
        #[arg(long)]
        review: Option<String>,
    },
    /// Set who may see a document.
    Audience {
        /// Document id.
        id: String,
        /// everyone, role:R or team:T (repeat for more).
        #[arg(long, required = true)]
        audience: Vec<String>,
    },
}

fn json_line(v: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string(v)?);
    Ok(())
}

/// `crm docs …`.
pub fn run(profile: &mut Profile, cmd: DocsCmd) -> Result<()> {
    let store = profile.store()?;
    match cmd {
        DocsCmd::Add {
            paths,
            audience,
            title,
            draft,
            note,
            json,
        } => {
            let extractor = Extractor::this_executable()?;
            let found = docs::expand(&paths)?;
            let bar = if json {
                ProgressBar::hidden()
            } else {
                ProgressBar::new((found.files.len() + found.skipped.len()) as u64).with_style(
                    ProgressStyle::with_template("{bar:30} {pos}/{len} files  {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                )
            };
            CANCELLABLE.store(true, Ordering::SeqCst);
            let opts = AddOptions {
                audience,
                title,
                draft,
                change_note: note,
            };
            let mut failed = 0;
            let result = docs::add(
                store,
                &extractor,
                &paths,
                &opts,
                &mut |p| {
                    bar.set_position(p.done as u64);
                    let name = p.last.path.display();
                    let line = match (&p.last.reason, p.last.status.as_str()) {
                        (_, "indexed") => format!("{name}: indexed ({} pages)", p.last.pages),
                        (Some(r), "needs_ocr") => format!("{name}: needs OCR: {r}"),
                        (Some(r), s) => format!("{name}: {s}: {r}"),
                        (None, s) => format!("{name}: {s}"),
                    };
                    if matches!(p.last.status.as_str(), "failed" | "skipped") {
                        failed += 1;
                    }
                    if json {
                        let _ = json_line(p.last);
                    } else {
                        bar.println(line);
                    }
                },
                &INTERRUPTED,
            );
            CANCELLABLE.store(false, Ordering::SeqCst);
            bar.finish_and_clear();
            let added = result?;
            if !json {
                let ids: Vec<_> = added
                    .iter()
                    .filter_map(|a| a.document_id.as_deref())
                    .collect();
                println!(
                    "{} of {} files added{}",
                    added.len() - failed,
                    added.len(),
                    if ids.len() == 1 {
                        format!(" (document {})", ids[0])
                    } else {
                        String::new()
                    }
                );
            }
            if failed > 0 && added.len() == failed {
                anyhow::bail!("no file could be added (see the reasons above)");
            }
        }
        DocsCmd::List {
            filter,
            offset,
            limit,
            json,
        } => {
            let (list, total) = docs::list(
                store,
                &ListQuery {
                    text: filter,
                    status: None,
                    offset,
                    limit,
                },
            )?;
            if json {
                println!("{}", serde_json::to_string(&list)?);
            } else {
                for d in &list {
                    let state = match (d.state, &d.reason) {
                        (docs::FileState::Indexed, _) => String::new(),
                        (s, Some(r)) => format!("  [{}: {r}]", s.as_str()),
                        (s, None) => format!("  [{}]", s.as_str()),
                    };
                    println!(
                        "{}  {:<9}  v{}  {}  ({}; {}){state}",
                        d.id,
                        d.status.as_str(),
                        d.latest_version,
                        d.title,
                        d.file_name,
                        d.audience.join(", ")
                    );
                }
                println!("{} of {total} documents", list.len());
            }
        }
        DocsCmd::Search { query, limit, json } => {
            let viewer = Viewer::of(store)?;
            let mut index = DocIndex::open(&*store)?;
            let hits = index.search(&*store, &viewer, &query, limit)?;
            if json {
                println!("{}", serde_json::to_string(&hits)?);
            } else {
                for (i, h) in hits.iter().enumerate() {
                    println!("[{}] {}  (score {:.2})", i + 1, docs::cite(h), h.score);
                    if !h.heading.is_empty() {
                        println!("    {}", h.heading);
                    }
                    let text: String = h.text.chars().take(300).collect();
                    println!("    {}", text.replace('\n', " "));
                }
                if hits.is_empty() {
                    println!("no passage matches");
                }
            }
        }
        DocsCmd::Ask { question, json } => {
            let mut index = DocIndex::open(&*store)?;
            CANCELLABLE.store(true, Ordering::SeqCst);
            let mut out = std::io::stdout();
            let answer = docs::ask(
                store,
                &mut index,
                &question,
                &mut |t| {
                    if !json {
                        let _ = write!(out, "{t}");
                        let _ = out.flush();
                    }
                },
                &INTERRUPTED,
            );
            CANCELLABLE.store(false, Ordering::SeqCst);
            let answer = answer?;
            if json {
                println!("{}", serde_json::to_string(&answer)?);
            } else {
                println!();
                if answer.model.is_some() {
                    println!("\nSources:");
                    for (i, h) in answer.sources.iter().enumerate() {
                        println!("[{}] {}", i + 1, docs::cite(h));
                    }
                }
                if let Some(n) = &answer.note {
                    eprintln!("note: {n}");
                }
            }
        }
        DocsCmd::Publish { id } => {
            let d = docs::publish(store, &id)?;
            println!("published {} to {}", d.title, d.audience.join(", "));
        }
        DocsCmd::Retire { id } => {
            let d = docs::retire(store, &id)?;
            println!("retired {}", d.title);
        }
        DocsCmd::Versions { id, json } => {
            let versions = docs::versions(store, &id)?;
            if json {
                println!("{}", serde_json::to_string(&versions)?);
            } else {
                for v in &versions {
                    println!(
                        "v{}{}  {}  {}  {} pages  {}  added {} by {}{}",
                        v.version,
                        if v.live { " (live)" } else { "" },
                        v.file_name,
                        v.state.as_str(),
                        v.pages,
                        &v.sha256[..12.min(v.sha256.len())],
                        v.added_at,
                        v.added_by,
                        v.change_note
                            .as_deref()
                            .map(|n| format!(": {n}"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        DocsCmd::Set {
            id,
            title,
            owner,
            effective,
            review,
        } => {
            let d = docs::set_details(
                store,
                &id,
                &docs::Details {
                    title,
                    owner,
                    effective_date: effective,
                    review_date: review,
                },
            )?;
            println!(
                "{}: owner {}, effective {}, review {}",
                d.title,
                d.owner.as_deref().unwrap_or("-"),
                d.effective_date.as_deref().unwrap_or("-"),
                d.review_date.as_deref().unwrap_or("-")
            );
        }
        DocsCmd::Audience { id, audience } => {
            let d = docs::set_audience(store, &id, &audience)
                .with_context(|| format!("document {id}"))?;
            println!("{} is now for {}", d.title, d.audience.join(", "));
        }
    }
    Ok(())
}

/// Bring the documents library in line with the agency's server after a
/// sync, saying what changed here.
pub fn sync_after(
    store: &mut crm_core::Store,
    conn: &crm_sync_client::Connection,
    token: &str,
) -> Result<()> {
    let extractor = Extractor::this_executable()?;
    let never = std::sync::atomic::AtomicBool::new(false);
    let s = crm_documents::sync(store, conn, token, &extractor, &never)?;
    if s.sent + s.received + s.removed > 0 {
        println!(
            "documents: sent {}, received {}, removed {}",
            s.sent, s.received, s.removed
        );
    }
    for f in &s.failed {
        eprintln!("documents: {f} (tried again at the next sync)");
    }
    Ok(())
}
