//! Assembling content streams into a PDF file.
//!
//! Every PDF the repo writes has the same skeleton: A4 pages that share one
//! resource dictionary naming the two standard fonts, a catalog, and an
//! Info dictionary with a title. Keeping it here means the skeleton is
//! written, and fixed, once.

use crate::encoding::{encode_win_ansi, escape_literal};
use crate::fonts::Face;
use lopdf::{dictionary, Document, Object, Stream, StringFormat};
use std::fmt::Write as _;

/// A4 width in points.
pub const PAGE_WIDTH: f64 = 595.0;
/// A4 height in points.
pub const PAGE_HEIGHT: f64 = 842.0;

/// Appends the operators that draw one line of WinAnsi `text` with its
/// baseline starting at (`x`, `y`), PDF coordinates (origin bottom left).
/// One `BT … ET` per line keeps each line's position explicit, which is
/// what extractors read lines and columns from.
pub fn show_text(out: &mut String, face: Face, size: f64, x: f64, y: f64, text: &[u8]) {
    // Writing into a String cannot fail.
    let _ = writeln!(
        out,
        "BT /{} {:.1} Tf {:.2} {:.2} Td ({}) Tj ET",
        face.resource_name(),
        size,
        x,
        y,
        escape_literal(text)
    );
}

/// A PDF text string for the Info dictionary. PDFDocEncoding (which Info
/// strings use) agrees with Latin-1 on printable ASCII and on U+00A1 to
/// U+00FF except the soft hyphen, so such text is written as those bytes,
/// as readers most commonly expect; anything else is written as UTF-16BE
/// with a byte-order mark, which holds every character (WinAnsi bytes would
/// turn an en dash into a different letter).
pub fn info_string(text: &str) -> Object {
    let latin_1 = text
        .chars()
        .all(|c| matches!(c, ' '..='~' | '\u{a1}'..='\u{ff}') && c != '\u{ad}');
    if latin_1 {
        return Object::String(encode_win_ansi(text), StringFormat::Literal);
    }
    let mut bytes = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_be_bytes());
    }
    Object::String(bytes, StringFormat::Hexadecimal)
}

fn font(face: Face) -> Object {
    Object::Dictionary(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => face.base_font(),
        "Encoding" => "WinAnsiEncoding",
    })
}

/// Writes a PDF 1.4 file with one A4 page per content stream in `pages`,
/// the streams FlateDecode-compressed. Content streams select the fonts by
/// [`Face::resource_name`]. The Info dictionary gets `title` and
/// `producer`. No pages at all still gives one (blank) page: a PDF without
/// pages is not one every reader opens.
pub fn write_pdf(pages: Vec<Vec<u8>>, title: &str, producer: &str) -> Vec<u8> {
    let mut pdf = Document::with_version("1.4");
    let pages_id = pdf.new_object_id();
    let regular = pdf.add_object(font(Face::Regular));
    let bold = pdf.add_object(font(Face::Bold));
    let resources = pdf.add_object(dictionary! {
        "Font" => dictionary! {
            Face::Regular.resource_name() => regular,
            Face::Bold.resource_name() => bold,
        },
        "ProcSet" => vec![Object::from("PDF"), Object::from("Text")],
    });
    let media_box: Vec<Object> = vec![0.into(), 0.into(), PAGE_WIDTH.into(), PAGE_HEIGHT.into()];
    let mut pages = pages;
    if pages.is_empty() {
        pages.push(Vec::new());
    }
    let mut kids = Vec::with_capacity(pages.len());
    for content in pages {
        let content = pdf.add_object(Stream::new(dictionary! {}, content));
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
        "Title" => info_string(title),
        "Producer" => info_string(producer),
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

    #[test]
    fn show_text_positions_and_escapes() {
        let mut out = String::new();
        show_text(&mut out, Face::Bold, 11.0, 64.0, 700.5, b"a (b)");
        assert_eq!(out, "BT /F2 11.0 Tf 64.00 700.50 Td (a \\(b\\)) Tj ET\n");
    }

    #[test]
    fn info_strings_are_latin_1_or_utf_16() {
        assert_eq!(
            info_string("Café £5"),
            Object::String(b"Caf\xe9 \xa35".to_vec(), StringFormat::Literal)
        );
        let Object::String(bytes, StringFormat::Hexadecimal) = info_string("a–😀") else {
            panic!("not a hex string");
        };
        assert_eq!(
            bytes,
            [0xFE, 0xFF, 0, b'a', 0x20, 0x13, 0xD8, 0x3D, 0xDE, 0x00]
        );
    }

    #[test]
    fn writes_loadable_pages_and_never_none() {
        let pages = vec![b"BT /F1 10 Tf 50 50 Td (x) Tj ET".to_vec(), Vec::new()];
        let doc = Document::load_mem(&write_pdf(pages, "T", "p")).unwrap();
        assert_eq!(doc.get_pages().len(), 2);
        let doc = Document::load_mem(&write_pdf(Vec::new(), "", "p")).unwrap();
        assert_eq!(doc.get_pages().len(), 1);
    }
}
