//! The labelled corpus: UK care-office and insurance-agency documents and
//! the questions a busy carer or agent would ask of them, with the document
//! and page that answers each one.
//!
//! Documents are kept as small text files (`corpus/docs/<id>.txt`) in a
//! syntax that reads like the document itself, so labels can be checked by
//! reading the source:
//!
//! ```text
//! format: pdf
//! title: Medication Administration Policy
//! # Medication Administration Policy
//! ## Purpose
//! A paragraph, which may run
//! over several lines.
//!
//! Another paragraph.
//! === page ===
//! ## Next page heading
//! ```
//!
//! Questions live in `corpus/questions.json`. Both are embedded at build
//! time (see `build.rs`), so nothing here touches the file system.

use crate::model::{Block, Format, SourceDoc};
use serde::{Deserialize, Serialize};
use std::fmt;

include!(concat!(env!("OUT_DIR"), "/corpus_files.rs"));

const QUESTIONS_JSON: &str = include_str!("../corpus/questions.json");

/// The line that separates pages in a corpus source file.
pub const PAGE_BREAK: &str = "=== page ===";

/// How relevant a document is to a question: 3 answers it, 2 is closely
/// relevant, 1 partly relevant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Judgement {
    pub doc: String,
    pub grade: u8,
}

/// Where the answer is: a document id, a 1-based page, and a phrase copied
/// from that page which states the answer.
///
/// The evidence phrase makes every label checkable by machine (it must
/// occur on the labelled page and on no other page of the document), and
/// lets tests of generated answers check that the cited passage is the one
/// that holds the fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub doc: String,
    pub page: usize,
    pub evidence: String,
}

/// One labelled question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub id: String,
    pub question: String,
    pub judgements: Vec<Judgement>,
    pub answer: Answer,
}

/// Why a corpus source file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusError {
    pub id: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for CorpusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}: {}", self.id, self.line, self.message)
    }
}

impl std::error::Error for CorpusError {}

/// Parses one source file in the corpus syntax (see the module docs).
pub fn parse_source(id: &str, text: &str) -> Result<SourceDoc, CorpusError> {
    let err = |line: usize, message: String| CorpusError {
        id: id.to_string(),
        line,
        message,
    };
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end()));
    let format = match lines.next() {
        Some((n, l)) => {
            let name = l
                .strip_prefix("format:")
                .ok_or_else(|| err(n, "first line must be `format: …`".into()))?;
            Format::from_name(name).ok_or_else(|| err(n, format!("unknown format {name:?}")))?
        }
        None => return Err(err(1, "empty file".into())),
    };
    let title = match lines.next() {
        Some((n, l)) => l
            .strip_prefix("title:")
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| err(n, "second line must be `title: …`".into()))?,
        None => return Err(err(2, "missing title line".into())),
    };

    let mut pages: Vec<Vec<Block>> = vec![Vec::new()];
    let mut para: Vec<&str> = Vec::new();
    let flush = |para: &mut Vec<&str>, pages: &mut Vec<Vec<Block>>| {
        if !para.is_empty() {
            let text = para.join(" ");
            para.clear();
            if let Some(page) = pages.last_mut() {
                page.push(Block::Para(text));
            }
        }
    };
    let mut last_line = 2;
    for (n, line) in lines {
        last_line = n;
        let trimmed = line.trim();
        if trimmed == PAGE_BREAK {
            flush(&mut para, &mut pages);
            if pages.last().is_some_and(Vec::is_empty) {
                return Err(err(n, "empty page".into()));
            }
            pages.push(Vec::new());
        } else if trimmed.is_empty() {
            flush(&mut para, &mut pages);
        } else if trimmed.starts_with('#') {
            flush(&mut para, &mut pages);
            let hashes = trimmed.chars().take_while(|c| *c == '#').count();
            let text = trimmed[hashes..].trim();
            if !(1..=3).contains(&hashes) || text.is_empty() {
                return Err(err(n, "headings are `# `, `## ` or `### ` and text".into()));
            }
            let level = u8::try_from(hashes).unwrap_or(3);
            if let Some(page) = pages.last_mut() {
                page.push(Block::Heading {
                    level,
                    text: text.to_string(),
                });
            }
        } else {
            para.push(trimmed);
        }
    }
    flush(&mut para, &mut pages);
    if pages.last().is_some_and(Vec::is_empty) {
        return Err(err(last_line, "empty last page".into()));
    }
    Ok(SourceDoc {
        id: id.to_string(),
        title,
        format,
        pages,
    })
}

/// Every corpus document, sorted by id.
///
/// # Panics
/// If an embedded source file is malformed. The files are compiled in and
/// checked by this crate's tests, so that would be a broken build of the
/// fixtures, not a condition a caller could handle.
pub fn corpus() -> Vec<SourceDoc> {
    CORPUS_FILES
        .iter()
        .map(|(id, text)| {
            parse_source(id, text).unwrap_or_else(|e| panic!("corpus source is malformed: {e}"))
        })
        .collect()
}

/// One corpus document by id.
pub fn corpus_doc(id: &str) -> Option<SourceDoc> {
    CORPUS_FILES
        .iter()
        .find(|(doc_id, _)| *doc_id == id)
        .and_then(|(doc_id, text)| parse_source(doc_id, text).ok())
}

/// The labelled questions, in file order.
///
/// # Panics
/// If the embedded `questions.json` does not parse; like [`corpus`], that
/// is a broken build of the fixtures, caught by this crate's tests.
pub fn questions() -> Vec<Question> {
    serde_json::from_str(QUESTIONS_JSON)
        .unwrap_or_else(|e| panic!("corpus/questions.json is malformed: {e}"))
}

/// Writes every corpus document into `dir` under its [`SourceDoc::file_name`]
/// and returns the paths, for benchmarks and manual runs that want files.
pub fn write_corpus_to(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    corpus()
        .iter()
        .map(|doc| {
            let path = dir.join(doc.file_name());
            std::fs::write(&path, doc.bytes())?;
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_syntax() {
        let src = "format: md\ntitle: T\n# Head\n## Sub\nline one\nline two\n\nnext\n=== page ===\n### Deep\ntext\n";
        let doc = parse_source("x", src).unwrap();
        assert_eq!(doc.format, Format::Markdown);
        assert_eq!(doc.title, "T");
        assert_eq!(doc.pages.len(), 2);
        assert_eq!(
            doc.pages[0],
            vec![
                Block::Heading {
                    level: 1,
                    text: "Head".into()
                },
                Block::Heading {
                    level: 2,
                    text: "Sub".into()
                },
                Block::Para("line one line two".into()),
                Block::Para("next".into()),
            ]
        );
        assert_eq!(
            doc.pages[1][0],
            Block::Heading {
                level: 3,
                text: "Deep".into()
            }
        );
    }

    #[test]
    fn rejects_bad_sources() {
        assert!(parse_source("x", "").is_err());
        assert!(parse_source("x", "format: rtf\ntitle: T\nx").is_err());
        assert!(parse_source("x", "format: pdf\nx").is_err());
        assert!(parse_source("x", "format: pdf\ntitle: T\n#### Too deep\n").is_err());
        assert!(parse_source(
            "x",
            "format: pdf\ntitle: T\na\n=== page ===\n=== page ===\nb"
        )
        .is_err());
        assert!(parse_source("x", "format: pdf\ntitle: T\na\n=== page ===\n").is_err());
    }

    #[test]
    fn corpus_doc_finds_by_id() {
        let first = &corpus()[0];
        assert_eq!(corpus_doc(&first.id).as_ref(), Some(first));
        assert_eq!(corpus_doc("no-such-doc"), None);
    }
}
