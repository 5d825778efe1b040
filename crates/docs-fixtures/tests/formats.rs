//! The DOCX, HTML and Markdown writers checked against every corpus
//! document: the text and the page/heading structure must survive.

use crm_docs_fixtures::{corpus, Block, Format, SourceDoc};
use std::io::{Cursor, Read};

fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// All text of the document, blocks joined by spaces.
fn all_text(doc: &SourceDoc) -> String {
    normalise(
        &doc.pages
            .iter()
            .flatten()
            .map(Block::text)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

fn headings(doc: &SourceDoc) -> Vec<u8> {
    doc.pages
        .iter()
        .flatten()
        .filter_map(|b| match b {
            Block::Heading { level, .. } => Some(*level),
            Block::Para(_) => None,
        })
        .collect()
}

/// Text of every `<w:t …>…</w:t>` element, in order.
fn docx_runs(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<w:t") {
        rest = &rest[start..];
        let Some(open_end) = rest.find('>') else {
            break;
        };
        let Some(close) = rest.find("</w:t>") else {
            break;
        };
        out.push(unescape(&rest[open_end + 1..close]));
        rest = &rest[close + 6..];
    }
    out
}

#[test]
fn docx_keeps_text_headings_and_page_breaks() {
    for doc in corpus().iter().filter(|d| d.format == Format::Docx) {
        let mut zip = zip::ZipArchive::new(Cursor::new(doc.bytes())).unwrap();
        let mut xml = String::new();
        zip.by_name("word/document.xml")
            .unwrap()
            .read_to_string(&mut xml)
            .unwrap();
        assert_eq!(
            xml.matches("<w:br w:type=\"page\"/>").count(),
            doc.pages.len() - 1,
            "{}",
            doc.id
        );
        let heading_styles = xml.matches("<w:pStyle w:val=\"Heading").count();
        assert_eq!(heading_styles, headings(doc).len(), "{}", doc.id);
        assert_eq!(
            normalise(&docx_runs(&xml).join(" ")),
            all_text(doc),
            "{}",
            doc.id
        );
    }
}

#[test]
fn html_keeps_text_headings_and_page_sections() {
    for doc in corpus().iter().filter(|d| d.format == Format::Html) {
        let html = String::from_utf8(doc.bytes()).unwrap();
        assert_eq!(
            html.matches("<section class=\"page\"").count(),
            doc.pages.len(),
            "{}",
            doc.id
        );
        for level in 1..=3u8 {
            let want = headings(doc).iter().filter(|l| **l == level).count();
            assert_eq!(
                html.matches(&format!("<h{level}>")).count(),
                want,
                "{}",
                doc.id
            );
        }
        // Strip the head and every tag; what is left is the body text.
        let body = &html[html.find("<body>").unwrap()..];
        let mut text = String::new();
        let mut in_tag = false;
        for c in body.chars() {
            match c {
                '<' => {
                    in_tag = true;
                    text.push(' ');
                }
                '>' => in_tag = false,
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        assert_eq!(normalise(&unescape(&text)), all_text(doc), "{}", doc.id);
    }
}

#[test]
fn markdown_keeps_text_and_headings() {
    for doc in corpus().iter().filter(|d| d.format == Format::Markdown) {
        let md = String::from_utf8(doc.bytes()).unwrap();
        let heading_lines: Vec<usize> = md
            .lines()
            .filter(|l| l.starts_with('#'))
            .map(|l| l.chars().take_while(|c| *c == '#').count())
            .collect();
        let want: Vec<usize> = headings(doc).iter().map(|l| usize::from(*l)).collect();
        assert_eq!(heading_lines, want, "{}", doc.id);
        let text: Vec<&str> = md
            .lines()
            .map(|l| l.trim_start_matches('#').trim_start())
            .collect();
        assert_eq!(normalise(&text.join(" ")), all_text(doc), "{}", doc.id);
    }
}

#[test]
fn file_names_match_formats() {
    for doc in corpus() {
        assert_eq!(
            doc.file_name(),
            format!("{}.{}", doc.id, doc.format.extension())
        );
    }
}

#[test]
fn write_corpus_to_writes_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let paths = crm_docs_fixtures::corpus::write_corpus_to(dir.path()).unwrap();
    assert_eq!(paths.len(), corpus().len());
    for path in paths {
        assert!(std::fs::metadata(&path).unwrap().len() > 500, "{path:?}");
    }
}
