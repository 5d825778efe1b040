//! PDF writer: one A4 page per source page, with a real text layer.
//!
//! The documents library cites answers by page, so the writer must put each
//! source page on exactly one PDF page and draw text that an extractor can
//! read back. It uses the standard Type1 fonts Helvetica and Helvetica-Bold
//! with WinAnsiEncoding: every reader knows their metrics, so no font file
//! is embedded and the text maps back to Unicode without a ToUnicode CMap.
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
use lopdf::{dictionary, Document, Object, Stream, StringFormat};

/// A4 in points.
pub const PAGE_WIDTH: f64 = 595.0;
pub const PAGE_HEIGHT: f64 = 842.0;
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

/// Advance widths (per 1000 em) of Helvetica for codes 32..=126, from the
/// Adobe AFM files; used only to wrap lines.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// The same for Helvetica-Bold.
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

/// Which of the two fonts a line is set in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Face {
    Regular,
    Bold,
}

impl Face {
    fn resource_name(self) -> &'static str {
        match self {
            Face::Regular => "F1",
            Face::Bold => "F2",
        }
    }

    /// Width in points of WinAnsi bytes at `size`.
    fn width(self, bytes: &[u8], size: f64) -> f64 {
        let table = match self {
            Face::Regular => &HELVETICA,
            Face::Bold => &HELVETICA_BOLD,
        };
        let units: u32 = bytes
            .iter()
            .map(|&b| match b {
                32..=126 => u32::from(table[usize::from(b - 32)]),
                // Em dash, ellipsis, per mille.
                0x97 | 0x85 | 0x89 => 1000,
                // Curly quotes.
                0x91..=0x94 => 333,
                _ => 556,
            })
            .sum();
        f64::from(units) * size / 1000.0
    }
}

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

/// Maps a character to WinAnsiEncoding bytes. Characters WinAnsi lacks get
/// an ASCII stand-in (`≥` becomes `>=`) or `?`, so the text layer never
/// holds bytes that decode to something else.
pub fn win_ansi(c: char) -> Vec<u8> {
    let byte = match c {
        ' '..='~' => Some(c as u8),
        '\t' | '\n' | '\r' | '\u{a0}' => Some(b' '),
        '€' => Some(0x80),
        '‚' => Some(0x82),
        '„' => Some(0x84),
        '…' => Some(0x85),
        '‰' => Some(0x89),
        '‘' => Some(0x91),
        '’' => Some(0x92),
        '“' => Some(0x93),
        '”' => Some(0x94),
        '•' => Some(0x95),
        '–' => Some(0x96),
        '—' => Some(0x97),
        '™' => Some(0x99),
        // WinAnsi agrees with Latin-1 from 0xA1 up (£, ©, é, ½ …).
        '\u{a1}'..='\u{ff}' => Some(c as u8),
        _ => None,
    };
    if let Some(b) = byte {
        return vec![b];
    }
    let stand_in = match c {
        '≥' => ">=",
        '≤' => "<=",
        '→' => "->",
        '←' => "<-",
        '−' | '‐' | '‑' => "-",
        '✓' | '✔' => "v",
        _ => "?",
    };
    stand_in.as_bytes().to_vec()
}

/// Encodes a string to WinAnsi bytes (see [`win_ansi`]).
pub fn encode_win_ansi(text: &str) -> Vec<u8> {
    text.chars().flat_map(win_ansi).collect()
}

/// Escapes WinAnsi bytes for a PDF literal string: backslash and both
/// parentheses always (balanced or not, so no reader has to count), and
/// anything outside printable ASCII as a three-digit octal escape so the
/// content stream stays 7-bit.
pub fn escape_literal(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 8);
    for &b in bytes {
        match b {
            b'(' | b')' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            32..=126 => out.push(char::from(b)),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out
}

/// Greedy word wrap by measured width. A single word wider than the column
/// gets a line of its own rather than being split.
fn wrap(text: &str, face: Face, size: f64, width: f64) -> Vec<Vec<u8>> {
    let space = face.width(b" ", size);
    let mut lines = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut current_width = 0.0;
    for word in text.split_whitespace() {
        let bytes = encode_win_ansi(word);
        let w = face.width(&bytes, size);
        if !current.is_empty() && current_width + space + w > width {
            lines.push(std::mem::take(&mut current));
            current_width = 0.0;
        }
        if !current.is_empty() {
            current.push(b' ');
            current_width += space;
        }
        current.extend_from_slice(&bytes);
        current_width += w;
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
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
        for line in wrap(text, face, size, TEXT_WIDTH) {
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
        out.push_str(&format!(
            "BT /{} {:.1} Tf {:.2} {:.2} Td ({}) Tj ET\n",
            line.face.resource_name(),
            line.size,
            line.x,
            line.y,
            escape_literal(&line.text)
        ));
    }
    out.into_bytes()
}

fn font(base: &str) -> Object {
    Object::Dictionary(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => base,
        "Encoding" => "WinAnsiEncoding",
    })
}

/// A PDF string for the Info dictionary. PDFDocEncoding agrees with
/// WinAnsi on the characters the corpus uses (ASCII, £, é).
fn info_string(text: &str) -> Object {
    Object::String(encode_win_ansi(text), StringFormat::Literal)
}

/// Writes `doc` as a PDF 1.4 file with FlateDecode content streams.
pub fn write(doc: &SourceDoc) -> Vec<u8> {
    let mut pdf = Document::with_version("1.4");
    let pages_id = pdf.new_object_id();
    let regular = pdf.add_object(font("Helvetica"));
    let bold = pdf.add_object(font("Helvetica-Bold"));
    let resources = pdf.add_object(dictionary! {
        "Font" => dictionary! { "F1" => regular, "F2" => bold },
        "ProcSet" => vec![Object::from("PDF"), Object::from("Text")],
    });
    let media_box: Vec<Object> = vec![0.into(), 0.into(), PAGE_WIDTH.into(), PAGE_HEIGHT.into()];
    let mut kids = Vec::with_capacity(doc.pages.len());
    for blocks in &doc.pages {
        let (lines, _) = layout_page(blocks);
        let content = pdf.add_object(Stream::new(dictionary! {}, content_stream(&lines)));
        let page = pdf.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => media_box.clone(),
            "Resources" => resources,
            "Contents" => content,
        });
        kids.push(Object::Reference(page));
    }
    let count = i64::try_from(kids.len()).unwrap_or(i64::MAX);
    pdf.set_object(
        pages_id,
        dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
            "MediaBox" => media_box,
        },
    );
    let catalog = pdf.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    let info = pdf.add_object(dictionary! {
        "Title" => info_string(&doc.title),
        "Producer" => info_string("crm-docs-fixtures"),
    });
    pdf.trailer.set("Root", catalog);
    pdf.trailer.set("Info", info);
    pdf.compress();
    let mut out = Vec::new();
    // Writing into a Vec cannot fail: lopdf only returns I/O errors here.
    pdf.save_to(&mut out)
        .expect("writing a PDF into memory cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Format;

    #[test]
    fn escapes_delimiters_and_high_bytes() {
        let bytes = encode_win_ansi(r"a (b) c\d £5 – it’s");
        assert_eq!(escape_literal(&bytes), r"a \(b\) c\\d \2435 \226 it\222s");
    }

    #[test]
    fn unmappable_characters_get_stand_ins() {
        assert_eq!(encode_win_ansi("≥ 2 → 雪"), b">= 2 -> ?".to_vec());
    }

    #[test]
    fn wrap_keeps_lines_inside_the_column() {
        let text = "word ".repeat(300);
        let lines = wrap(&text, Face::Regular, BODY_SIZE, TEXT_WIDTH);
        assert!(lines.len() > 5);
        for line in &lines {
            assert!(Face::Regular.width(line, BODY_SIZE) <= TEXT_WIDTH);
        }
        // Roughly 90 characters of ordinary text fit on a line.
        let prose =
            "The registered manager must review every medication error within two working days. "
                .repeat(20);
        let lines = wrap(&prose, Face::Regular, BODY_SIZE, TEXT_WIDTH);
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
