//! PDF writer: one A4 page per source page, with a real text layer.
//!
//! The documents library cites answers by page, so the writer must put each
//! source page on exactly one PDF page and draw text that an extractor can
//! read back. It uses the standard Type1 fonts Helvetica and Helvetica-Bold
//! with WinAnsiEncoding: every reader knows their metrics, so no font file
//! is embedded and the text maps back to Unicode without a ToUnicode CMap.
//! The font metrics, WinAnsi encoding, word wrap and the file's skeleton
//! are `crm-report-pdf`'s, shared rather than copied; the page layout is
//! this module's own.
//!
//! Layout is deliberately plain: one `BT … Tj ET` per line, lines wrapped by
//! measured Helvetica widths to the text column (about 90 characters of
//! body text), a line gap under 1.5× the font size inside a paragraph and
//! more than that between paragraphs. `pdf-extract` turns that into one
//! newline per wrapped line and a blank line between paragraphs.
//!
//! A page whose text does not fit is still drawn on its one page (running
//! past the bottom margin, even off the page) rather than spilling onto a
//! new one: page labels matter more than looks, and [`overflowing_pages`]
//! lets the corpus tests catch the author's mistake.

use crate::model::{Block, SourceDoc};
use crm_report_pdf::{show_text, wrap, write_pdf, Face, LongWords};

/// The text helpers this writer shares with `crm-report-pdf`, still
/// reachable here for callers that know them as fixtures' functions.
pub use crm_report_pdf::{encode_win_ansi, escape_literal, win_ansi, PAGE_HEIGHT, PAGE_WIDTH};

const MARGIN_X: f64 = 64.0;
const MARGIN_TOP: f64 = 64.0;
const MARGIN_BOTTOM: f64 = 56.0;
const TEXT_WIDTH: f64 = PAGE_WIDTH - 2.0 * MARGIN_X;

const BODY_SIZE: f64 = 11.0;
/// Under 1.5 × [`BODY_SIZE`]: `pdf-extract` writes a single newline
/// between wrapped lines of one paragraph.
const BODY_LEADING: f64 = 15.0;
/// Added after a paragraph so the gap passes 1.5 × the font size and the
/// extractor writes a blank line between paragraphs.
const PARA_GAP: f64 = 8.0;

/// One positioned line of text, already in WinAnsi bytes.
#[derive(Debug, Clone)]
struct Line {
    face: Face,
    size: f64,
    x: f64,
    /// Baseline, in PDF coordinates (origin bottom left).
    y: f64,
    text: Vec<u8>,
}

fn heading_size(level: u8) -> f64 {
    match level {
        0 | 1 => 18.0,
        2 => 14.0,
        _ => 12.0,
    }
}

/// Lays out one page; returns its lines and the lowest baseline used.
fn layout_page(blocks: &[Block]) -> (Vec<Line>, f64) {
    let mut lines = Vec::new();
    // `y` is the top of the next line's box; the baseline sits one font
    // size lower.
    let mut y = PAGE_HEIGHT - MARGIN_TOP;
    let mut lowest = y;
    for (i, block) in blocks.iter().enumerate() {
        let (face, size, leading, text) = match block {
            Block::Heading { level, text } => {
                let size = heading_size(*level);
                if i > 0 {
                    y -= size * 0.8;
                }
                (Face::Bold, size, size * 1.3, text)
            }
            Block::Para(text) => (Face::Regular, BODY_SIZE, BODY_LEADING, text),
        };
        // Words stay whole: the corpus tests compare extracted text word for
        // word with the source.
        for line in wrap(text, face, size, TEXT_WIDTH, LongWords::Keep) {
            let baseline = y - size;
            lines.push(Line {
                face,
                size,
                x: MARGIN_X,
                y: baseline,
                text: line,
            });
            lowest = lowest.min(baseline);
            y -= leading;
        }
        y -= match block {
            Block::Heading { .. } => 4.0,
            Block::Para(_) => PARA_GAP,
        };
    }
    (lines, lowest)
}

/// Source pages (1-based) whose text runs below the bottom margin. The
/// corpus keeps this empty; a non-empty answer means a page needs cutting.
pub fn overflowing_pages(doc: &SourceDoc) -> Vec<usize> {
    doc.pages
        .iter()
        .enumerate()
        .filter(|(_, blocks)| layout_page(blocks).1 < MARGIN_BOTTOM)
        .map(|(i, _)| i + 1)
        .collect()
}

/// The content stream of one page.
fn content_stream(lines: &[Line]) -> Vec<u8> {
    let mut out = String::new();
    for line in lines {
        show_text(&mut out, line.face, line.size, line.x, line.y, &line.text);
    }
    out.into_bytes()
}

/// Writes `doc` as a PDF 1.4 file with FlateDecode content streams.
pub fn write(doc: &SourceDoc) -> Vec<u8> {
    let pages = doc
        .pages
        .iter()
        .map(|blocks| content_stream(&layout_page(blocks).0))
        .collect();
    write_pdf(pages, &doc.title, "crm-docs-fixtures")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Format;
    use lopdf::Document;

    #[test]
    fn wrap_keeps_lines_inside_the_column() {
        let text = "word ".repeat(300);
        let lines = wrap(&text, Face::Regular, BODY_SIZE, TEXT_WIDTH, LongWords::Keep);
        assert!(lines.len() > 5);
        for line in &lines {
            assert!(Face::Regular.width(line, BODY_SIZE) <= TEXT_WIDTH);
        }
        // Roughly 90 characters of ordinary text fit on a line.
        let prose =
            "The registered manager must review every medication error within two working days. "
                .repeat(20);
        let lines = wrap(
            &prose,
            Face::Regular,
            BODY_SIZE,
            TEXT_WIDTH,
            LongWords::Keep,
        );
        let longest = lines.iter().map(Vec::len).max().unwrap_or(0);
        assert!((80..=100).contains(&longest), "{longest}");
    }

    #[test]
    fn writes_a_loadable_pdf_with_one_page_per_source_page() {
        let doc = SourceDoc {
            id: "t".into(),
            title: "T".into(),
            format: Format::Pdf,
            pages: vec![
                vec![Block::Para("one".into())],
                vec![Block::Para("two".into())],
                vec![Block::Para("three".into())],
            ],
        };
        let bytes = write(&doc);
        assert!(bytes.starts_with(b"%PDF-1.4"));
        let loaded = Document::load_mem(&bytes).unwrap();
        assert_eq!(loaded.get_pages().len(), 3);
    }

    #[test]
    fn long_page_is_reported_as_overflowing() {
        let doc = SourceDoc {
            id: "t".into(),
            title: "T".into(),
            format: Format::Pdf,
            pages: vec![
                vec![Block::Para("short".into())],
                vec![Block::Para("many words here ".repeat(400))],
            ],
        };
        assert_eq!(overflowing_pages(&doc), vec![2]);
    }
}
