//! Plain text: paragraphs are separated by blank lines, a form feed (as
//! `pdftotext` writes) starts a new page.

use crate::{push_block, Page};

/// Text from bytes: UTF-8 (with or without a byte-order mark), UTF-16 with
/// a mark, else Windows-1252 (what older office files are).
pub(crate) fn decode(bytes: &[u8]) -> String {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return enc
            .decode_without_bom_handling(&bytes[bom..])
            .0
            .into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    }
}

pub(crate) fn extract(text: &str) -> Vec<Page> {
    let paged = text.contains('\x0c');
    text.split('\x0c')
        .enumerate()
        .map(|(i, page)| {
            let mut blocks = Vec::new();
            for para in paragraphs(page) {
                push_block(&mut blocks, None, &para);
            }
            Page {
                number: paged.then_some(i as u32 + 1),
                blocks,
            }
        })
        .collect()
}

/// Paragraphs: runs of non-blank lines.
pub(crate) fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_feeds_make_pages_and_blank_lines_paragraphs() {
        let pages = extract("One\ntwo\n\nThree\x0cFour");
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0].number, Some(1));
        assert_eq!(pages[0].blocks[0].text, "One two");
        assert_eq!(pages[0].blocks[1].text, "Three");
        assert_eq!(pages[1].blocks[0].text, "Four");
        assert_eq!(extract("no pages")[0].number, None);
    }

    #[test]
    fn windows_1252_and_utf16_are_read() {
        assert_eq!(decode(b"\xa3500 excess"), "£500 excess");
        assert_eq!(decode(b"\xff\xfeh\0i\0"), "hi");
    }
}
