//! Word (.docx): `word/document.xml` read as a stream. Headings are the
//! paragraphs styled `Heading1`…`Heading9` or `Title`, or with an outline
//! level. Pages are Word's own: an explicit page break, or the break Word
//! recorded where it last laid the page out (`lastRenderedPageBreak`).
//!
//! A .docx is a zip: what it unpacks to is capped ([`MAX_XML`]), so a zip
//! bomb costs a clear error, not the machine's memory.

use std::io::{BufReader, Read};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::{push_block, ExtractError, Page};

/// The most `word/document.xml` may unpack to (a 1,000-page manual is
/// ~30 MB of XML).
pub(crate) const MAX_XML: u64 = 96 << 20;

pub(crate) fn extract(bytes: &[u8]) -> Result<Vec<Page>, ExtractError> {
    let damaged = |what: String| ExtractError::Damaged(what);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| damaged(format!("not a Word file (its zip is unreadable: {e})")))?;
    let entry = zip.by_name("word/document.xml").map_err(|_| {
        damaged(
            "not a Word document (no word/document.xml inside; is it another Office file?)".into(),
        )
    })?;
    let capped = CappedRead {
        inner: entry,
        left: MAX_XML,
    };
    let mut reader = Reader::from_reader(BufReader::new(capped));
    reader.config_mut().trim_text(false);
    let mut doc = Doc::default();
    let mut buf = Vec::new();
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| {
            if e.to_string().contains(BOMB) {
                damaged(format!(
                    "its text unpacks to more than {} MB: the file may be a zip bomb",
                    MAX_XML >> 20
                ))
            } else {
                damaged(format!("its document.xml is malformed: {e}"))
            }
        })?;
        match event {
            Event::Start(e) => doc.start(&e, false),
            Event::Empty(e) => doc.start(&e, true),
            Event::End(e) => match e.name().as_ref() {
                "w:p" => doc.end_paragraph(),
                "w:t" => doc.in_text = false,
                _ => {}
            },
            Event::Text(t) if doc.in_text => doc.text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if doc.in_text => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    doc.text.push(c);
                } else if let Some(s) =
                    quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                {
                    doc.text.push_str(s);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    doc.end_paragraph();
    let paged = doc.pages.len() > 1 || doc.broke;
    let mut pages = doc.pages;
    if !paged {
        for p in &mut pages {
            p.number = None;
        }
    }
    Ok(pages)
}

const BOMB: &str = "unpacks past the limit";

/// A reader that fails once `left` bytes have been read.
struct CappedRead<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for CappedRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::other(BOMB));
        }
        let max = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

struct Doc {
    pages: Vec<Page>,
    text: String,
    heading: Option<u8>,
    in_text: bool,
    /// A page break was seen (the document has pages).
    broke: bool,
}

impl Default for Doc {
    fn default() -> Self {
        Doc {
            pages: vec![Page {
                number: Some(1),
                blocks: Vec::new(),
            }],
            text: String::new(),
            heading: None,
            in_text: false,
            broke: false,
        }
    }
}

impl Doc {
    fn page(&mut self) -> &mut Page {
        let n = self.pages.len();
        &mut self.pages[n - 1]
    }

    fn start(&mut self, e: &BytesStart<'_>, empty: bool) {
        match e.name().as_ref() {
            "w:p" if !empty => {
                self.text.clear();
                self.heading = None;
            }
            "w:t" if !empty => self.in_text = true,
            "w:tab" => self.text.push(' '),
            "w:br" | "w:cr" => {
                if attr(e, "w:type").as_deref() == Some("page") {
                    self.new_page();
                } else {
                    self.text.push(' ');
                }
            }
            // Word's own layout: a break where it last started a page,
            // unless a page has only just begun (an explicit break is
            // followed by one of these too).
            "w:lastRenderedPageBreak"
                if !self.page().blocks.is_empty() || !self.text.trim().is_empty() =>
            {
                self.new_page();
            }
            "w:pStyle" => {
                if let Some(v) = attr(e, "w:val") {
                    self.heading = heading_of_style(&v).or(self.heading);
                }
            }
            "w:outlineLvl" => {
                if let Some(level) = attr(e, "w:val").and_then(|v| v.parse::<u8>().ok()) {
                    if level < 9 {
                        self.heading = Some(level + 1);
                    }
                }
            }
            _ => {}
        }
    }

    /// A page break inside a paragraph: the text before it stays on the
    /// page it was on.
    fn new_page(&mut self) {
        let text = std::mem::take(&mut self.text);
        let heading = self.heading;
        push_block(&mut self.page().blocks, heading, &text);
        let number = self.pages.len() as u32 + 1;
        self.pages.push(Page {
            number: Some(number),
            blocks: Vec::new(),
        });
        self.broke = true;
    }

    fn end_paragraph(&mut self) {
        let text = std::mem::take(&mut self.text);
        let heading = self.heading.take();
        push_block(&mut self.page().blocks, heading, &text);
    }
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.try_get_attribute(name).ok().flatten().and_then(|a| {
        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .ok()
            .map(|v| v.into_owned())
    })
}

/// `Heading2` → 2, `Title` → 1.
fn heading_of_style(style: &str) -> Option<u8> {
    let lower = style.to_ascii_lowercase();
    if lower == "title" {
        return Some(1);
    }
    let digits = lower
        .strip_prefix("heading")?
        .trim_start_matches([' ', '-', '_']);
    digits.parse::<u8>().ok().filter(|l| (1..=9).contains(l))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn docx(body: &str) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        let mut z = zip::ZipWriter::new(&mut out);
        let o: zip::write::SimpleFileOptions = Default::default();
        z.start_file("word/document.xml", o).unwrap();
        write!(
            z,
            "<?xml version=\"1.0\"?><w:document xmlns:w=\"x\"><w:body>{body}</w:body></w:document>"
        )
        .unwrap();
        z.finish().unwrap();
        out.into_inner()
    }

    #[test]
    fn headings_paragraphs_and_page_breaks() {
        let pages = extract(&docx(
            "<w:p><w:pPr><w:pStyle w:val=\"Heading1\"/></w:pPr><w:r><w:t>Claims</w:t></w:r></w:p>\
             <w:p><w:r><w:t xml:space=\"preserve\">Call &amp; report </w:t></w:r><w:r><w:t>within 24h.</w:t></w:r></w:p>\
             <w:p><w:r><w:br w:type=\"page\"/></w:r></w:p>\
             <w:p><w:r><w:lastRenderedPageBreak/><w:t>Second page.</w:t></w:r></w:p>",
        ))
        .unwrap();
        assert_eq!(pages.len(), 2, "{pages:?}");
        assert_eq!(pages[0].blocks[0].heading, Some(1));
        assert_eq!(pages[0].blocks[1].text, "Call & report within 24h.");
        assert_eq!(pages[1].number, Some(2));
        assert_eq!(pages[1].blocks[0].text, "Second page.");
    }

    #[test]
    fn a_document_without_breaks_has_no_page_numbers() {
        let pages = extract(&docx("<w:p><w:r><w:t>One</w:t></w:r></w:p>")).unwrap();
        assert_eq!(pages[0].number, None);
    }

    #[test]
    fn not_a_word_file() {
        let e = extract(b"PK\x03\x04garbage").unwrap_err();
        assert!(e.to_string().contains("not a Word file"), "{e}");
    }
}
