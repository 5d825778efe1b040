//! Questions answered from the library. The passages come from the
//! search, so only documents the person may see are ever cited. With a
//! language model configured (the profile's AI service: any endpoint that
//! speaks OpenAI's chat completions, local or remote), the answer is
//! streamed from it and cites its sources as [1], [2]…; without one, or
//! when it cannot be reached, the answer is the best passages themselves,
//! highlighted. Every question is kept in the encrypted profile and
//! audited.

use std::io::{BufRead, BufReader};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crm_core::Store;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::index::DocIndex;
use crate::model::{DocsError, Hit, Result};
use crate::schema::FEATURE;
use crate::viewer::Viewer;

/// Passages given to the model (and shown without one).
pub const SOURCES: usize = 5;
/// Longest passage text sent to the model, characters.
const SOURCE_CHARS: usize = 1600;

/// An answer and where it came from.
#[derive(Clone, Debug, Serialize)]
pub struct Answer {
    /// The question.
    pub question: String,
    /// The answer: the model's, or the best passages.
    pub answer: String,
    /// The sources, numbered from 1 as the answer cites them.
    pub sources: Vec<Hit>,
    /// The model that wrote the answer (`None`: passages only).
    pub model: Option<String>,
    /// Why there is no model answer, when there is none.
    pub note: Option<String>,
}

/// A language model: the profile's AI service.
#[derive(Clone)]
pub struct Model {
    /// Base address, e.g. `http://localhost:11434/v1`.
    pub endpoint: String,
    /// Model name.
    pub model: String,
    /// Bearer key, if the service wants one.
    pub api_key: Option<String>,
}

impl Model {
    /// The profile's AI service, if one is set.
    pub fn of(store: &Store) -> Result<Option<Model>> {
        let ai = store.ai_settings()?;
        Ok(ai.endpoint.map(|endpoint| Model {
            endpoint,
            model: ai.model,
            api_key: ai.api_key,
        }))
    }
}

/// Answer `question` for the profile's user: `on_text` hears the answer
/// as it streams; setting `cancel` stops the stream (what came is kept).
/// The question and answer are kept in the profile.
pub fn ask(
    store: &mut Store,
    index: &mut DocIndex,
    question: &str,
    on_text: &mut dyn FnMut(&str),
    cancel: &AtomicBool,
) -> Result<Answer> {
    let question = checked(question)?;
    // The question is kept even before any document was added here.
    store.install_feature(&FEATURE)?;
    let viewer = Viewer::of(store)?;
    let sources = index.search(&*store, &viewer, question, SOURCES)?;
    let answer = compose(question, sources, Model::of(store)?, on_text, cancel);
    record(store, &answer)?;
    Ok(answer)
}

/// The sources for `question` from the process's shared index, and the
/// profile's model: the first step of [`ask`] for a caller that streams
/// without holding the store ([`compose`]) and keeps the answer after
/// ([`record`]).
pub fn prepare(store: &Store, question: &str) -> Result<(Vec<Hit>, Option<Model>)> {
    let question = checked(question)?;
    let viewer = Viewer::of(store)?;
    let sources = crate::index::search_shared(store, &viewer, question, SOURCES)?;
    Ok((sources, Model::of(store)?))
}

fn checked(question: &str) -> Result<&str> {
    let question = question.trim();
    if question.is_empty() {
        return Err(DocsError::Invalid {
            field: "QUESTION",
            reason: "ask something, e.g. \"how soon must a complaint be acknowledged?\"".into(),
        });
    }
    Ok(question)
}

/// Write the answer from `sources`: streamed from `model` when there is
/// one and it answers, else the best passages with a note saying why.
pub fn compose(
    question: &str,
    sources: Vec<Hit>,
    model: Option<Model>,
    on_text: &mut dyn FnMut(&str),
    cancel: &AtomicBool,
) -> Answer {
    let question = question.trim();
    let mut answer = Answer {
        question: question.to_string(),
        answer: String::new(),
        sources,
        model: None,
        note: None,
    };
    if answer.sources.is_empty() {
        answer.answer = "None of the documents you can see answers this. Try other words, or ask \
                         an admin whether the document you need is in the library."
            .into();
        on_text(&answer.answer);
    } else if let Some(m) = &model {
        let mut streamed = String::new();
        let got = stream_answer(m, question, &answer.sources, cancel, &mut |t| {
            streamed.push_str(t);
            on_text(t);
        });
        match got {
            Ok(()) if !streamed.trim().is_empty() => {
                answer.answer = streamed;
                answer.model = Some(m.model.clone());
            }
            Ok(()) => {
                answer.note = Some(
                    "the language model gave an empty answer: the best passages are shown".into(),
                );
                answer.answer = passages_answer(&answer.sources);
                on_text(&answer.answer);
            }
            Err(e) => {
                answer.note = Some(format!("{e}: the best passages are shown instead"));
                if !streamed.is_empty() {
                    on_text("\n\n");
                }
                answer.answer = passages_answer(&answer.sources);
                on_text(&answer.answer);
            }
        }
    } else {
        answer.note = Some("no language model is set up: the best passages are shown".into());
        answer.answer = passages_answer(&answer.sources);
        on_text(&answer.answer);
    }
    answer
}

/// A citation's label: `Title, v2, page 3` (or the heading for formats
/// without pages).
pub fn cite(h: &Hit) -> String {
    match h.page {
        Some(p) => format!("{}, v{}, page {p}", h.title, h.version),
        None if !h.heading.is_empty() => format!("{}, v{}, “{}”", h.title, h.version, h.heading),
        None => format!("{}, v{}", h.title, h.version),
    }
}

fn passages_answer(sources: &[Hit]) -> String {
    sources
        .iter()
        .enumerate()
        .map(|(i, h)| format!("[{}] {}\n{}", i + 1, cite(h), h.text))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Keep a question and its answer in the profile, audited.
pub fn record(store: &mut Store, a: &Answer) -> Result<()> {
    store.install_feature(&FEATURE)?;
    let actor = store.user_actor();
    let sources: Vec<_> = a
        .sources
        .iter()
        .map(|h| json!({"document_id": h.document_id, "version": h.version, "page": h.page, "passage_id": h.passage_id}))
        .collect();
    store.feature_write(&FEATURE, actor.clone(), |tx| -> Result<()> {
        tx.conn().execute(
            "INSERT INTO documents_questions (at, actor, question, answer, sources, model) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![
                tx.now(),
                serde_json::to_string(&actor).map_err(crm_core::CoreError::from)?,
                a.question,
                a.answer,
                serde_json::Value::Array(sources.clone()).to_string(),
                a.model
            ],
        )?;
        let id = tx.conn().last_insert_rowid().to_string();
        tx.audit(
            "questions",
            &id,
            "asked",
            &json!({"question": a.question, "sources": sources, "model": a.model}),
        )?;
        Ok(())
    })
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<Message>,
    temperature: f32,
    stream: bool,
}

#[derive(Serialize)]
struct Message {
    role: &'static str,
    content: String,
}

#[derive(Deserialize)]
struct Chunk {
    choices: Vec<ChunkChoice>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Delta,
}

#[derive(Deserialize, Default)]
struct Delta {
    content: Option<String>,
}

const SYSTEM: &str = "You answer questions for staff of an insurance agency or care office, \
using only the numbered sources given. Cite every statement with its source number in square \
brackets, e.g. [1] or [2][3]. If the sources do not answer the question, say so plainly. Be brief.";

/// Stream the model's answer from `sources`.
fn stream_answer(
    m: &Model,
    question: &str,
    sources: &[Hit],
    cancel: &AtomicBool,
    on_text: &mut dyn FnMut(&str),
) -> Result<()> {
    let numbered = sources
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let text: String = h.text.chars().take(SOURCE_CHARS).collect();
            format!("[{}] {}\n{}", i + 1, cite(h), text)
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    let body = ChatRequest {
        model: &m.model,
        messages: vec![
            Message {
                role: "system",
                content: SYSTEM.into(),
            },
            Message {
                role: "user",
                content: format!("Sources:\n\n{numbered}\n\nQuestion: {question}"),
            },
        ],
        temperature: 0.0,
        stream: true,
    };
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        // The whole answer: a local model on a laptop is slow.
        .timeout(Duration::from_secs(180))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| DocsError::Model(e.to_string()))?;
    let url = format!("{}/chat/completions", m.endpoint.trim_end_matches('/'));
    let mut req = client.post(&url).json(&body);
    if let Some(k) = &m.api_key {
        req = req.bearer_auth(k);
    }
    let resp = req.send().map_err(|e| {
        DocsError::Model(if e.is_connect() {
            format!("cannot reach {} (offline?)", m.endpoint)
        } else {
            e.without_url().to_string()
        })
    })?;
    if !resp.status().is_success() {
        return Err(DocsError::Model(format!(
            "{} answered {}",
            m.endpoint,
            resp.status()
        )));
    }
    for line in BufReader::new(resp).lines() {
        if cancel.load(Ordering::Relaxed) {
            return Ok(());
        }
        let line = line.map_err(|e| DocsError::Model(format!("the answer broke off: {e}")))?;
        let Some(data) = line.strip_prefix("data:").map(str::trim) else {
            continue;
        };
        if data == "[DONE]" {
            break;
        }
        let chunk: Chunk = serde_json::from_str(data)
            .map_err(|e| DocsError::Model(format!("an unreadable piece of the answer ({e})")))?;
        for c in chunk.choices {
            if let Some(t) = c.delta.content.filter(|t| !t.is_empty()) {
                on_text(&t);
            }
        }
    }
    Ok(())
}
