//! The document model every writer starts from.
//!
//! It is kept to headings and paragraphs grouped into pages because that is
//! all the documents library indexes: passages, their heading path and the
//! page they sit on. Anything richer (tables, lists, images) would only add
//! ways for the writers to disagree about the text.

use crate::{docx, html, markdown, pdf};

/// The file format a [`SourceDoc`] is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Pdf,
    Docx,
    Markdown,
    Html,
}

impl Format {
    /// Every format, in a fixed order, so tests can loop over them.
    pub const ALL: [Format; 4] = [Format::Pdf, Format::Docx, Format::Markdown, Format::Html];

    /// The file extension (without the dot) an uploaded file of this
    /// format would carry.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Docx => "docx",
            Format::Markdown => "md",
            Format::Html => "html",
        }
    }

    /// The MIME type, for callers that store or serve the bytes.
    pub fn mime_type(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            Format::Markdown => "text/markdown",
            Format::Html => "text/html",
        }
    }

    /// Parses the corpus spelling (`pdf`, `docx`, `md`, `html`); `markdown`
    /// is accepted too because people type it.
    pub fn from_name(name: &str) -> Option<Format> {
        match name.trim().to_ascii_lowercase().as_str() {
            "pdf" => Some(Format::Pdf),
            "docx" => Some(Format::Docx),
            "md" | "markdown" => Some(Format::Markdown),
            "html" | "htm" => Some(Format::Html),
            _ => None,
        }
    }
}

/// One block of text. Headings carry a level 1–3 (deeper levels are
/// clamped to 3 by the writers, as Word's built-in styles stop being
/// useful there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Heading { level: u8, text: String },
    Para(String),
}

impl Block {
    /// The block's text, whatever its kind.
    pub fn text(&self) -> &str {
        match self {
            Block::Heading { text, .. } | Block::Para(text) => text,
        }
    }
}

/// A document as the corpus author wrote it: pages of blocks.
///
/// `pages` is what makes page-level labels possible: the PDF writer makes
/// exactly one PDF page per entry, and the DOCX and HTML writers mark the
/// same boundaries (page break, `<section class="page">`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceDoc {
    /// Stable id, also the file stem, e.g. `c07-medication-administration`.
    pub id: String,
    pub title: String,
    pub format: Format,
    pub pages: Vec<Vec<Block>>,
}

impl SourceDoc {
    /// The name the file would be uploaded under: id plus extension.
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.id, self.format.extension())
    }

    /// The document written in its own format.
    pub fn bytes(&self) -> Vec<u8> {
        self.bytes_as(self.format)
    }

    /// The document written in another format, for tests that want the same
    /// text in every format (or a PDF saved under a `.docx` name).
    pub fn bytes_as(&self, format: Format) -> Vec<u8> {
        match format {
            Format::Pdf => pdf::write(self),
            Format::Docx => docx::write(self),
            Format::Markdown => markdown::write(self).into_bytes(),
            Format::Html => html::write(self).into_bytes(),
        }
    }

    /// The plain text of one page (1-based), blocks separated by blank
    /// lines; `None` past the last page. Label checks and tests compare
    /// extracted text against this.
    pub fn page_text(&self, page: usize) -> Option<String> {
        let blocks = self.pages.get(page.checked_sub(1)?)?;
        Some(
            blocks
                .iter()
                .map(Block::text)
                .collect::<Vec<_>>()
                .join("\n\n"),
        )
    }

    /// Number of whitespace-separated words on a page (1-based), 0 past the
    /// end; used to keep corpus pages within 150–400 words.
    pub fn page_word_count(&self, page: usize) -> usize {
        self.page_text(page)
            .map(|t| t.split_whitespace().count())
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> SourceDoc {
        SourceDoc {
            id: "x01-test".into(),
            title: "Test".into(),
            format: Format::Markdown,
            pages: vec![
                vec![
                    Block::Heading {
                        level: 1,
                        text: "Title".into(),
                    },
                    Block::Para("One two three.".into()),
                ],
                vec![Block::Para("Four.".into())],
            ],
        }
    }

    #[test]
    fn file_name_uses_extension() {
        let mut d = doc();
        assert_eq!(d.file_name(), "x01-test.md");
        d.format = Format::Docx;
        assert_eq!(d.file_name(), "x01-test.docx");
    }

    #[test]
    fn page_text_is_one_based() {
        let d = doc();
        assert_eq!(d.page_text(0), None);
        assert_eq!(d.page_text(1).as_deref(), Some("Title\n\nOne two three."));
        assert_eq!(d.page_text(2).as_deref(), Some("Four."));
        assert_eq!(d.page_text(3), None);
        assert_eq!(d.page_word_count(1), 4);
    }

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.extension()), Some(f));
        }
        assert_eq!(Format::from_name("txt"), None);
    }
}
