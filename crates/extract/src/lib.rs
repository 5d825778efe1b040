//! Text out of documents: PDF (per page), DOCX, HTML, Markdown and plain
//! text, as pages of headings and paragraphs.
//!
//! Parsers of outside files panic, loop and allocate without bound on
//! malformed input (`pdf-extract` panics by design on some PDFs), so the
//! app never runs them in its own process: [`Extractor`] hands each file to
//! a worker process (the same executable, started with [`WORKER_ARG`]),
//! bounded in time and memory, and turns whatever happens there into a
//! per-file [`ExtractError`]. The worker reads the file's bytes on stdin and
//! writes JSON on stdout: no temporary files, no network.
//!
//! *Boundary:* bytes in, structured text out. No storage, no index, no
//! knowledge of the CRM.

mod docx;
mod html;
mod markdown;
mod pdf;
mod text;
mod worker;

use serde::{Deserialize, Serialize};

pub use worker::{run_worker_if_asked, Extractor, Limits, WORKER_ARG};

/// A document's format, as its bytes show (not as its name claims).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Portable Document Format: text per page.
    Pdf,
    /// Word (Office Open XML).
    Docx,
    /// HTML: visible text only, no scripts, nothing fetched.
    Html,
    /// Markdown (CommonMark).
    Markdown,
    /// Plain text; a form feed starts a new page.
    Text,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pdf => "pdf",
            Kind::Docx => "docx",
            Kind::Html => "html",
            Kind::Markdown => "markdown",
            Kind::Text => "text",
        }
    }

    /// The kind named `s` (see [`Kind::as_str`]).
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "pdf" => Kind::Pdf,
            "docx" => Kind::Docx,
            "html" => Kind::Html,
            "markdown" => Kind::Markdown,
            "text" => Kind::Text,
            _ => return None,
        })
    }

    /// The kind a file name's extension claims, if we read that kind.
    pub fn from_name(name: &str) -> Option<Kind> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "pdf" => Kind::Pdf,
            "docx" => Kind::Docx,
            "html" | "htm" | "xhtml" => Kind::Html,
            "md" | "markdown" => Kind::Markdown,
            "txt" | "text" => Kind::Text,
            _ => return None,
        })
    }
}

/// One heading or paragraph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// Heading level (1 = top), or `None` for body text.
    pub heading: Option<u8>,
    /// The text, whitespace collapsed.
    pub text: String,
}

/// A page: a PDF page, a page of a DOCX as Word last laid it out, a
/// form-feed page of a text file; formats without pages have one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// 1-based page number, or `None` when the format has no pages.
    pub number: Option<u32>,
    /// Headings and paragraphs in reading order.
    pub blocks: Vec<Block>,
}

/// What a file holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extracted {
    /// The format read.
    pub kind: Kind,
    /// Its pages.
    pub pages: Vec<Page>,
    /// A PDF with pages but (almost) no text layer: scanned, to be OCR'd.
    pub needs_ocr: bool,
    /// The title the file gives itself (a PDF's document information),
    /// when it reads as one.
    #[serde(default)]
    pub title: Option<String>,
}

impl Extracted {
    /// Characters of text in all pages.
    pub fn text_len(&self) -> usize {
        self.pages
            .iter()
            .flat_map(|p| &p.blocks)
            .map(|b| b.text.len())
            .sum()
    }
}

/// Why a file's text could not be had. Each names what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ExtractError {
    /// The file is empty.
    #[error("the file is empty")]
    Empty,
    /// Larger than the limit.
    #[error("the file is {size_mb} MB; the library takes files up to {limit_mb} MB (split it, or save a smaller copy)")]
    TooLarge {
        /// Its size, MB.
        size_mb: u64,
        /// The limit, MB.
        limit_mb: u64,
    },
    /// Not a format the library reads.
    #[error("not a PDF, Word (.docx), HTML, Markdown or text file{0}")]
    Unsupported(String),
    /// The file is damaged or not what it claims.
    #[error("the file could not be read: {0}")]
    Damaged(String),
    /// The extractor took longer than allowed.
    #[error("reading the file took longer than {0} s and was stopped (the file may be damaged)")]
    TimedOut(u64),
    /// The extractor used more memory than allowed, or crashed.
    #[error("reading the file stopped: {0} (the file may be damaged or crafted)")]
    Crashed(String),
    /// The worker process could not be started.
    #[error("the document reader could not start: {0}")]
    Worker(String),
}

/// The format of `bytes` named `name`: the content decides (a PDF named
/// `.docx` is read as a PDF); the name decides only between the text
/// formats, which have no signature.
pub fn sniff(name: &str, bytes: &[u8]) -> Result<Kind, ExtractError> {
    if bytes.is_empty() {
        return Err(ExtractError::Empty);
    }
    let head = &bytes[..bytes.len().min(1024)];
    if find(head, b"%PDF-").is_some() {
        return Ok(Kind::Pdf);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Ok(Kind::Docx);
    }
    let named = Kind::from_name(name);
    // UTF-16 text (Notepad's "Unicode") has NUL bytes but a mark to say so.
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let text = enc.decode_without_bom_handling(&bytes[bom..head.len()]).0;
        let lower = text.to_ascii_lowercase();
        let trimmed = lower.trim_start();
        if trimmed.starts_with("<!doctype html") || trimmed.starts_with("<html") {
            return Ok(Kind::Html);
        }
        return Ok(match named {
            Some(Kind::Pdf | Kind::Docx) | None => Kind::Text,
            Some(k) => k,
        });
    }
    if looks_binary(head) {
        return Err(ExtractError::Unsupported(match named {
            Some(k) => format!(" (named .{} but its content is not)", k.as_str()),
            None => String::new(),
        }));
    }
    let lower = String::from_utf8_lossy(head).to_ascii_lowercase();
    let trimmed = lower.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with("<!doctype html") || trimmed.starts_with("<html") {
        return Ok(Kind::Html);
    }
    match named {
        Some(Kind::Pdf | Kind::Docx) | None => Ok(Kind::Text),
        Some(k) => Ok(k),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// NUL bytes or many control characters: not text.
fn looks_binary(head: &[u8]) -> bool {
    let control = head
        .iter()
        .filter(|&&b| b == 0 || (b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c)))
        .count();
    head.contains(&0) || control * 20 > head.len()
}

/// Extract `bytes` as `kind` in this process. Only the worker calls this:
/// a malformed file may panic or loop here.
pub fn extract_here(kind: Kind, bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let pages = match kind {
        Kind::Pdf => return pdf::extract(bytes),
        Kind::Docx => docx::extract(bytes)?,
        Kind::Html => html::extract(&text::decode(bytes)),
        Kind::Markdown => markdown::extract(&text::decode(bytes)),
        Kind::Text => text::extract(&text::decode(bytes)),
    };
    Ok(Extracted {
        kind,
        pages,
        needs_ocr: false,
        title: None,
    })
}

/// Collapse runs of whitespace into one space, trimmed; control
/// characters (a NUL from a broken PDF font map, say) count as spaces, so
/// no stored text holds one.
pub fn squash(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Append a block unless it is empty.
pub(crate) fn push_block(blocks: &mut Vec<Block>, heading: Option<u8>, text: &str) {
    let text = squash(text);
    if !text.is_empty() {
        blocks.push(Block { heading, text });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_content_decides_the_format_not_the_name() {
        assert_eq!(sniff("a.docx", b"%PDF-1.7\n...").unwrap(), Kind::Pdf);
        assert_eq!(sniff("a.pdf", b"PK\x03\x04rest").unwrap(), Kind::Docx);
        assert_eq!(sniff("a.txt", b"<!DOCTYPE html><p>x").unwrap(), Kind::Html);
        assert_eq!(sniff("a.md", b"# Title\n\nText").unwrap(), Kind::Markdown);
        assert_eq!(sniff("notes", b"just words").unwrap(), Kind::Text);
        // A file named PDF with text in it is read as text, not refused.
        assert_eq!(sniff("a.pdf", b"plain words").unwrap(), Kind::Text);
        assert_eq!(sniff("a.txt", b""), Err(ExtractError::Empty));
        // UTF-16 with its mark is text, not binary.
        assert_eq!(sniff("notes.txt", b"\xff\xfeh\0i\0").unwrap(), Kind::Text);
        assert_eq!(squash("a\0b \x01 c"), "a b c");
        let e = sniff("photo.pdf", &[0xff, 0xd8, 0xff, 0xe0, 0, 0x10, b'J', b'F']).unwrap_err();
        assert!(e.to_string().contains("named .pdf"), "{e}");
    }
}
