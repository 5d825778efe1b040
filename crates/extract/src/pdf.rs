//! PDF: text per page with `pdf-extract` (which may panic on malformed
//! files: the worker process takes that). PDFs carry no paragraph or
//! heading structure, so both are read from the layout: blank lines part
//! paragraphs, and a short line standing alone without closing punctuation
//! is taken for a heading.

use crate::{push_block, squash, ExtractError, Extracted, Kind, Page};

/// Fewer visible characters per page than this, on average, and the PDF
/// is taken for a scan (page numbers or a stamp are not a text layer).
const OCR_CHARS_PER_PAGE: usize = 40;

pub(crate) fn extract(bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let mut doc = pdf_extract::Document::load_mem(bytes)
        .map_err(|e| ExtractError::Damaged(format!("unreadable PDF: {e}")))?;
    if doc.is_encrypted() && doc.decrypt("").is_err() {
        return Err(ExtractError::Damaged(
            "the PDF is password-protected: save a copy without a password and add that".into(),
        ));
    }
    let numbers: Vec<u32> = doc.get_pages().keys().copied().collect();
    if numbers.is_empty() {
        return Err(ExtractError::Damaged("the PDF has no pages".into()));
    }
    // Page by page, so a page that fails is named (pdf-extract's own
    // loop stops quietly at the first one).
    let mut texts = Vec::with_capacity(numbers.len());
    let mut failed = Vec::new();
    for n in &numbers {
        let mut text = String::new();
        let mut out = pdf_extract::PlainTextOutput::new(&mut text);
        if pdf_extract::output_doc_page(&doc, &mut out, *n).is_err() {
            failed.push(n.to_string());
        }
        texts.push(text);
    }
    if !failed.is_empty() {
        return Err(ExtractError::Damaged(format!(
            "page {} of {} could not be read",
            failed.join(", "),
            numbers.len()
        )));
    }
    let visible: usize = texts
        .iter()
        .map(|t| t.chars().filter(|c| !c.is_whitespace()).count())
        .sum();
    let needs_ocr = visible < OCR_CHARS_PER_PAGE * texts.len();
    let pages = texts
        .iter()
        .enumerate()
        .map(|(i, text)| Page {
            number: Some(i as u32 + 1),
            blocks: if needs_ocr { Vec::new() } else { blocks(text) },
        })
        .collect();
    Ok(Extracted {
        kind: Kind::Pdf,
        pages,
        needs_ocr,
        title: info_title(&doc),
    })
}

/// The Title of the PDF's document information, unless it is empty or a
/// file name (as printers to PDF often write: "Microsoft Word - x.docx").
fn info_title(doc: &pdf_extract::Document) -> Option<String> {
    let info = doc.trailer.get(b"Info").ok()?;
    let info = match info {
        pdf_extract::Object::Reference(id) => doc.get_object(*id).ok()?,
        other => other,
    };
    let bytes = info.as_dict().ok()?.get(b"Title").ok()?.as_str().ok()?;
    let text = match bytes {
        [0xfe, 0xff, rest @ ..] => {
            let units: Vec<u16> = rest
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        // PDFDocEncoding agrees with Latin-1 for the letters a title uses.
        other => other.iter().map(|&b| b as char).collect(),
    };
    let title = squash(&text);
    let lower = title.to_lowercase();
    let file_like = [".pdf", ".doc", ".docx", ".odt", ".rtf", ".txt"]
        .iter()
        .any(|ext| lower.ends_with(ext))
        || lower.starts_with("microsoft word - ")
        || lower == "untitled";
    (!title.is_empty() && title.chars().count() <= 200 && !file_like).then_some(title)
}

/// Headings and paragraphs of one page's text.
pub(crate) fn blocks(text: &str) -> Vec<crate::Block> {
    let mut out = Vec::new();
    for para in crate::text::paragraphs(text) {
        let lines: Vec<&str> = para
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let joined = join_lines(&lines);
        // pdf-extract parts blocks at vertical gaps: a heading comes as a
        // block of one short line.
        if lines.len() == 1 && is_heading(&joined) {
            push_block(&mut out, Some(2), &joined);
        } else {
            push_block(&mut out, None, &joined);
        }
    }
    out
}

/// Lines of a paragraph as one text, words broken by a hyphen at a line's
/// end joined again.
fn join_lines(lines: &[&str]) -> String {
    let mut out = String::new();
    for line in lines {
        if out.ends_with('-')
            && line.chars().next().is_some_and(char::is_lowercase)
            && out[..out.len() - 1].ends_with(char::is_alphabetic)
        {
            out.pop();
        } else if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(line);
    }
    out
}

fn ends_sentence(s: &str) -> bool {
    s.ends_with(['.', ',', ';', ':', '?', '!'])
}

/// A short line that reads as a title: up to 12 words, no closing
/// punctuation, starting with a capital or a section number.
fn is_heading(line: &str) -> bool {
    let line = squash(line);
    let words = line.split(' ').count();
    !line.is_empty()
        && line.len() <= 90
        && words <= 12
        && !ends_sentence(&line)
        && line
            .chars()
            .next()
            .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_and_paragraphs_from_layout() {
        let b = blocks(
            "Reporting a claim\n\nCall the claims line within\n24 hours of the inci-\ndent.\n\n4.2 Evidence\n\nKeep photos of the damage.\n",
        );
        let got: Vec<_> = b.iter().map(|b| (b.heading, b.text.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (Some(2), "Reporting a claim"),
                (
                    None,
                    "Call the claims line within 24 hours of the incident."
                ),
                (Some(2), "4.2 Evidence"),
                (None, "Keep photos of the damage."),
            ]
        );
    }

    #[test]
    fn the_title_is_the_pdfs_own_unless_it_is_a_file_name() {
        let doc = crm_docs_fixtures::corpus::corpus_doc("i02-complaints-handling-disp").unwrap();
        let x = extract(&doc.bytes()).unwrap();
        assert_eq!(x.title.as_deref(), Some(doc.title.as_str()));
        // Printed to PDF from Word: the "title" is the file's name.
        let mut named = doc.clone();
        named.title = "Microsoft Word - complaints v3.docx".into();
        assert_eq!(extract(&named.bytes()).unwrap().title, None);
        // UTF-16 with its byte order mark, as many producers write it.
        let mut pdf = pdf_extract::Document::load_mem(&doc.bytes()).unwrap();
        let info = pdf.trailer.get(b"Info").unwrap().as_reference().unwrap();
        let mut utf16 = vec![0xfe, 0xff];
        for u in "Café policy — 2027".encode_utf16() {
            utf16.extend(u.to_be_bytes());
        }
        pdf.get_object_mut(info)
            .unwrap()
            .as_dict_mut()
            .unwrap()
            .set(
                "Title",
                pdf_extract::Object::String(utf16, pdf_extract::StringFormat::Hexadecimal),
            );
        let mut bytes = Vec::new();
        pdf.save_to(&mut bytes).unwrap();
        assert_eq!(
            extract(&bytes).unwrap().title.as_deref(),
            Some("Café policy — 2027")
        );
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let e = extract(b"%PDF-1.7\nnot really").unwrap_err();
        assert!(e.to_string().contains("unreadable PDF"), "{e}");
    }
}
