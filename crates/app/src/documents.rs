//! The Documents and Ask screens: the library (filters and paging),
//! adding files with per-file progress and cancel, versions, audience and
//! details, publish and retire; search; the viewer's page; questions
//! answered as a stream with their sources. All of it is `crm-documents`'
//! (which applies who may see what); this module only carries it across.
//!
//! Reads go through the reader connection; an answer streams from the
//! language model holding no store at all, then is kept in the profile.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use crm_documents::{self as docs, DocStatus, DocsError, Document, Hit, ListQuery};
use crm_extract::Extractor;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{ApiError, ApiResult, App, ErrorCode};

/// Most documents on one page of the library.
const PAGE_MAX: u32 = 200;

impl From<DocsError> for ApiError {
    fn from(e: DocsError) -> Self {
        match e {
            DocsError::Core(c) => c.into(),
            DocsError::NotFound(_) => ApiError::new(ErrorCode::NotFound, e.to_string()),
            DocsError::Invalid { field, reason } => ApiError::invalid(
                field.trim_start_matches("--").to_lowercase().as_str(),
                reason,
            ),
            DocsError::Cancelled => ApiError::new(ErrorCode::Cancelled, "cancelled"),
            DocsError::Sync(s) => s.into(),
            e @ (DocsError::State(_) | DocsError::Index(_) | DocsError::Model(_)) => {
                ApiError::new(ErrorCode::Invalid, e.to_string())
            }
        }
    }
}

/// Cancel flags of the running add and question.
#[derive(Default)]
pub struct DocsJobs {
    adding: AtomicBool,
    add_cancel: AtomicBool,
    ask_cancel: AtomicBool,
    extractor: OnceLock<Extractor>,
}

/// One document of the library.
#[derive(Clone, Debug, Serialize, TS)]
pub struct DocumentDto {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// The file its latest version was added from.
    pub file_name: String,
    /// `draft`, `published` or `retired`.
    pub status: String,
    /// Who may see it: `everyone`, `role:R`, `team:T`.
    pub audience: Vec<String>,
    /// Who answers for it.
    pub owner: Option<String>,
    /// From when it applies.
    pub effective_date: Option<String>,
    /// When it is next reviewed.
    pub review_date: Option<String>,
    /// The version people see.
    #[ts(type = "number | null")]
    pub live_version: Option<i64>,
    /// The newest version.
    #[ts(type = "number")]
    pub latest_version: i64,
    /// `indexed`, `needs_ocr` or `failed` (the latest version's file).
    pub state: String,
    /// Why it is not indexed.
    pub reason: Option<String>,
    /// Pages of the latest version.
    #[ts(type = "number")]
    pub pages: i64,
    /// Last change.
    pub updated_at: String,
}

fn dto(d: Document) -> DocumentDto {
    DocumentDto {
        id: d.id,
        title: d.title,
        file_name: d.file_name,
        status: d.status.as_str().into(),
        audience: d.audience,
        owner: d.owner,
        effective_date: d.effective_date,
        review_date: d.review_date,
        live_version: d.live_version,
        latest_version: d.latest_version,
        state: d.state.as_str().into(),
        reason: d.reason,
        pages: d.pages,
        updated_at: d.updated_at,
    }
}

/// A page of the library.
#[derive(Clone, Debug, Serialize, TS)]
pub struct DocumentPageDto {
    /// The documents, by title.
    pub documents: Vec<DocumentDto>,
    /// How many match in all.
    pub total: u32,
    /// Whether this person may change the library.
    pub admin: bool,
}

/// What to list.
#[derive(Clone, Debug, Default, Deserialize, TS)]
pub struct DocsQueryArgs {
    /// Title or file name contains.
    pub text: Option<String>,
    /// `draft`, `published` or `retired`; none: all.
    pub status: Option<String>,
    /// Skip this many.
    pub offset: u32,
    /// At most this many (1 to 200).
    pub limit: u32,
}

/// A version of a document.
#[derive(Clone, Debug, Serialize, TS)]
pub struct DocVersionDto {
    /// Its number.
    #[ts(type = "number")]
    pub version: i64,
    /// The file it was added from.
    pub file_name: String,
    /// `pdf`, `docx`, `html`, `markdown`, `text`.
    pub kind: String,
    /// Bytes.
    #[ts(type = "number")]
    pub size: i64,
    /// `indexed`, `needs_ocr`, `failed`.
    pub state: String,
    /// Why it is not indexed.
    pub reason: Option<String>,
    /// What changed.
    pub change_note: Option<String>,
    /// Pages.
    #[ts(type = "number")]
    pub pages: i64,
    /// When it was added.
    pub added_at: String,
    /// By whom.
    pub added_by: String,
    /// The version people see.
    pub live: bool,
}

/// Files to add.
#[derive(Clone, Debug, Deserialize, TS)]
pub struct DocAddArgs {
    /// Files and folders.
    pub paths: Vec<String>,
    /// Who may see them; empty: everyone.
    pub audience: Vec<String>,
    /// Keep them as drafts.
    pub draft: bool,
    /// What changed (for new versions).
    pub change_note: Option<String>,
}

/// What became of one file.
#[derive(Clone, Debug, Serialize, TS)]
pub struct DocAddedDto {
    /// The file.
    pub path: String,
    /// The document it is part of.
    pub document_id: Option<String>,
    /// Its version.
    #[ts(type = "number | null")]
    pub version: Option<i64>,
    /// `indexed`, `needs_ocr`, `failed`, `skipped` or `unchanged`.
    pub status: String,
    /// Why, or what to do.
    pub reason: Option<String>,
    /// Pages read.
    #[ts(type = "number")]
    pub pages: i64,
}

/// Progress of an add (`docs-progress` events).
#[derive(Clone, Debug, Serialize, TS)]
pub struct DocAddProgressDto {
    /// Files finished.
    pub done: u32,
    /// Files in all.
    pub total: u32,
    /// The file just finished.
    pub last: DocAddedDto,
}

fn added_dto(a: &docs::Added) -> DocAddedDto {
    DocAddedDto {
        path: a.path.display().to_string(),
        document_id: a.document_id.clone(),
        version: a.version,
        status: a.status.clone(),
        reason: a.reason.clone(),
        pages: a.pages,
    }
}

/// A document's details.
#[derive(Clone, Debug, Deserialize, TS)]
pub struct DocDetailsArgs {
    /// Title.
    pub title: String,
    /// Who answers for it ("" clears).
    pub owner: String,
    /// From when it applies, `YYYY-MM-DD` ("" clears).
    pub effective_date: String,
    /// Next review, `YYYY-MM-DD` ("" clears).
    pub review_date: String,
}

/// A passage found.
#[derive(Clone, Debug, Serialize, TS)]
pub struct DocHitDto {
    /// Its document.
    pub document_id: String,
    /// The document's title.
    pub title: String,
    /// The file's name.
    pub file_name: String,
    /// Version.
    #[ts(type = "number")]
    pub version: i64,
    /// Page (none for formats without pages).
    #[ts(type = "number | null")]
    pub page: Option<i64>,
    /// Headings above it.
    pub heading: String,
    /// The passage.
    pub text: String,
    /// Relevance.
    pub score: f32,
    /// Its id.
    #[ts(type = "number")]
    pub passage_id: i64,
    /// Start on its page, characters.
    #[ts(type = "number")]
    pub start: i64,
    /// End on its page, characters.
    #[ts(type = "number")]
    pub end: i64,
    /// What matched in `text`: [start, end) in characters.
    pub highlights: Vec<[u32; 2]>,
    /// `Title, v2, page 3`.
    pub citation: String,
}

fn hit_dto(h: Hit) -> DocHitDto {
    DocHitDto {
        citation: docs::cite(&h),
        document_id: h.document_id,
        title: h.title,
        file_name: h.file_name,
        version: h.version,
        page: h.page,
        heading: h.heading,
        text: h.text,
        score: h.score,
        passage_id: h.passage_id,
        start: h.start,
        end: h.end,
        highlights: h
            .highlights
            .iter()
            .map(|&(a, b)| [a as u32, b as u32])
            .collect(),
    }
}

/// An answer (its text streamed first as `docs-answer` events).
#[derive(Clone, Debug, Serialize, TS)]
pub struct DocAnswerDto {
    /// The question.
    pub question: String,
    /// The answer, citing sources as [1], [2]…
    pub answer: String,
    /// The sources, numbered from 1.
    pub sources: Vec<DocHitDto>,
    /// The model that wrote it; none: the best passages.
    pub model: Option<String>,
    /// Why there is no model answer.
    pub note: Option<String>,
}

/// One page of a document version, for the viewer.
#[derive(Clone, Debug, Serialize, TS)]
pub struct DocPageViewDto {
    /// The document.
    pub document_id: String,
    /// Its title.
    pub title: String,
    /// The version shown.
    #[ts(type = "number")]
    pub version: i64,
    /// The page shown (1 for formats without pages).
    #[ts(type = "number")]
    pub page: i64,
    /// Pages in the version.
    #[ts(type = "number")]
    pub pages: i64,
    /// Whether the pages are real pages (PDF, Word) rather than one long text.
    pub paged: bool,
    /// The page's text.
    pub text: String,
}

impl App {
    pub(crate) fn extractor(&self) -> ApiResult<&Extractor> {
        if let Some(x) = self.docs.extractor.get() {
            return Ok(x);
        }
        let x = Extractor::this_executable().map_err(|e| {
            ApiError::new(
                ErrorCode::Internal,
                format!("files cannot be read here: {e}"),
            )
        })?;
        Ok(self.docs.extractor.get_or_init(|| x))
    }

    /// Read files with this program instead of the app itself (tests run
    /// the app inside a test binary, which cannot be a worker).
    pub fn set_extractor(&self, program: PathBuf) {
        let _ = self.docs.extractor.set(Extractor::with_program(program));
    }

    /// A page of the library as this person may see it.
    pub fn docs_list(&self, q: DocsQueryArgs) -> ApiResult<DocumentPageDto> {
        let status = match q.status.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("draft") => Some(DocStatus::Draft),
            Some("published") => Some(DocStatus::Published),
            Some("retired") => Some(DocStatus::Retired),
            Some(other) => {
                return Err(ApiError::invalid(
                    "status",
                    format!("{other:?}: choose draft, published or retired"),
                ))
            }
        };
        let limit = q.limit.clamp(1, PAGE_MAX) as usize;
        self.read(|s| {
            let admin = docs::Viewer::of(s)?.admin;
            let (list, total) = docs::list(
                s,
                &ListQuery {
                    text: q.text.clone().filter(|t| !t.trim().is_empty()),
                    status,
                    offset: q.offset as usize,
                    limit,
                },
            )?;
            Ok(DocumentPageDto {
                documents: list.into_iter().map(dto).collect(),
                total: total as u32,
                admin,
            })
        })
    }

    /// One document.
    pub fn docs_get(&self, id: &str) -> ApiResult<DocumentDto> {
        self.read(|s| Ok(dto(docs::get(s, id)?)))
    }

    /// A document's versions, newest first (others than admins: the one
    /// in force only).
    pub fn docs_versions(&self, id: &str) -> ApiResult<Vec<DocVersionDto>> {
        self.read(|s| {
            Ok(docs::versions(s, id)?
                .into_iter()
                .map(|v| DocVersionDto {
                    version: v.version,
                    file_name: v.file_name,
                    kind: v.kind,
                    size: v.size,
                    state: v.state.as_str().into(),
                    reason: v.reason,
                    change_note: v.change_note,
                    pages: v.pages,
                    added_at: v.added_at,
                    added_by: v.added_by,
                    live: v.live,
                })
                .collect())
        })
    }

    /// Add files and folders; `progress` hears of each file as it is done.
    /// One add at a time; [`App::docs_add_cancel`] stops it before the next
    /// file (those done stay).
    pub fn docs_add(
        &self,
        args: &DocAddArgs,
        progress: &mut dyn FnMut(DocAddProgressDto),
    ) -> ApiResult<Vec<DocAddedDto>> {
        let paths: Vec<PathBuf> = args
            .paths
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .collect();
        if paths.is_empty() {
            return Err(ApiError::invalid(
                "paths",
                "choose files or a folder to add",
            ));
        }
        for p in &paths {
            if !p.exists() {
                return Err(ApiError::invalid(
                    "paths",
                    format!("{} does not exist", p.display()),
                ));
            }
        }
        let extractor = self.extractor()?.clone();
        if self.docs.adding.swap(true, Ordering::SeqCst) {
            return Err(ApiError::new(
                ErrorCode::Busy,
                "files are being added already: wait for them, or cancel",
            ));
        }
        struct Done<'a>(&'a AtomicBool);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::SeqCst);
            }
        }
        let _done = Done(&self.docs.adding);
        self.docs.add_cancel.store(false, Ordering::SeqCst);
        let opts = docs::AddOptions {
            audience: args
                .audience
                .iter()
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect(),
            title: None,
            draft: args.draft,
            change_note: args.change_note.clone().filter(|n| !n.trim().is_empty()),
        };
        let cancel = &self.docs.add_cancel;
        let added = self.write(|s| {
            Ok(docs::add(
                s,
                &extractor,
                &paths,
                &opts,
                &mut |p| {
                    progress(DocAddProgressDto {
                        done: p.done as u32,
                        total: p.total as u32,
                        last: added_dto(p.last),
                    })
                },
                cancel,
            )?)
        })?;
        Ok(added.iter().map(added_dto).collect())
    }

    /// Stop the running add before its next file.
    pub fn docs_add_cancel(&self) -> bool {
        self.docs.add_cancel.store(true, Ordering::SeqCst);
        self.docs.adding.load(Ordering::SeqCst)
    }

    /// Publish a document: its newest readable version goes to its audience.
    pub fn docs_publish(&self, id: &str) -> ApiResult<DocumentDto> {
        self.write(|s| Ok(dto(docs::publish(s, id)?)))
    }

    /// Retire a document: searched by no one, removed from devices.
    pub fn docs_retire(&self, id: &str) -> ApiResult<DocumentDto> {
        self.write(|s| Ok(dto(docs::retire(s, id)?)))
    }

    /// Say who may see a document.
    pub fn docs_set_audience(&self, id: &str, audience: Vec<String>) -> ApiResult<DocumentDto> {
        let audience: Vec<String> = audience
            .into_iter()
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        self.write(|s| Ok(dto(docs::set_audience(s, id, &audience)?)))
    }

    /// Change a document's title, owner and dates.
    pub fn docs_set_details(&self, id: &str, d: DocDetailsArgs) -> ApiResult<DocumentDto> {
        let details = docs::Details {
            title: Some(d.title),
            owner: Some(d.owner),
            effective_date: Some(d.effective_date.trim().to_string()),
            review_date: Some(d.review_date.trim().to_string()),
        };
        self.write(|s| Ok(dto(docs::set_details(s, id, &details)?)))
    }

    /// Passages for `query`, best first, as this person may see them.
    pub fn docs_search(&self, query: &str, limit: u32) -> ApiResult<Vec<DocHitDto>> {
        self.read(|s| {
            let viewer = docs::Viewer::of(s)?;
            let hits = docs::search_shared(s, &viewer, query, limit.clamp(1, 100) as usize)?;
            Ok(hits.into_iter().map(hit_dto).collect())
        })
    }

    /// Answer a question from the library; the text streams to `on_text`
    /// as it comes; [`App::docs_ask_cancel`] stops it (what came is kept).
    pub fn docs_ask(
        &self,
        question: &str,
        on_text: &mut dyn FnMut(&str),
    ) -> ApiResult<DocAnswerDto> {
        self.docs.ask_cancel.store(false, Ordering::SeqCst);
        let (sources, model) = self.read(|s| Ok(docs::prepare(s, question)?))?;
        let answer = docs::compose(question, sources, model, on_text, &self.docs.ask_cancel);
        let s = self.session()?;
        {
            let mut store = crate::lock_store(&s)?;
            docs::record(&mut store, &answer)?;
        }
        Ok(DocAnswerDto {
            question: answer.question,
            answer: answer.answer,
            sources: answer.sources.into_iter().map(hit_dto).collect(),
            model: answer.model,
            note: answer.note,
        })
    }

    /// Stop the answer being streamed.
    pub fn docs_ask_cancel(&self) {
        self.docs.ask_cancel.store(true, Ordering::SeqCst);
    }

    /// A page of a document version for the viewer (others than admins:
    /// the version in force only).
    pub fn docs_page(&self, id: &str, version: i64, page: i64) -> ApiResult<DocPageViewDto> {
        self.read(|s| {
            let doc = docs::get(s, id)?;
            let v = docs::versions(s, id)?
                .into_iter()
                .find(|v| v.version == version)
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::NotFound,
                        format!("{} has no version {version} you can open", doc.title),
                    )
                })?;
            let pages = v.pages.max(1);
            let page = page.clamp(1, pages);
            let text = docs::page_text(s, id, version, page)?;
            Ok(DocPageViewDto {
                document_id: doc.id,
                title: doc.title,
                version,
                page,
                pages,
                paged: v.paged,
                text,
            })
        })
    }
}
