//! The hostile files are hostile in the way their docs say, and no more:
//! a test that expects a clean failure must get the failure it expects.

use crm_docs_fixtures::hostile;
use std::io::{Cursor, Read};

#[test]
fn zip_bomb_is_small_but_inflates_past_two_gib() {
    let bytes = hostile::docx_zip_bomb();
    assert!(bytes.len() < 8 * 1024 * 1024, "{} bytes", bytes.len());
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    for part in [
        "[Content_Types].xml",
        "_rels/.rels",
        "word/_rels/document.xml.rels",
        "word/styles.xml",
    ] {
        assert!(zip.by_name(part).is_ok(), "{part}");
    }
    let document = zip.by_name("word/document.xml").unwrap();
    assert_eq!(document.size(), hostile::ZIP_BOMB_INFLATED_LEN);
    assert!(document.size() >= 2 * 1024 * 1024 * 1024);
    // Inflate only the start: it looks like an ordinary document.
    let mut head = String::new();
    document.take(4096).read_to_string(&mut head).unwrap();
    assert!(head.starts_with("<?xml"), "{head}");
    assert!(head.contains("<w:t xml:space=\"preserve\">Care plan audit Care plan audit"));
}

#[test]
fn not_a_zip_and_pdf_named_docx_are_rejected_by_a_zip_reader() {
    assert!(zip::ZipArchive::new(Cursor::new(hostile::docx_not_a_zip())).is_err());
    assert!(zip::ZipArchive::new(Cursor::new(hostile::pdf_named_docx())).is_err());
    assert!(zip::ZipArchive::new(Cursor::new(hostile::empty())).is_err());
    assert!(hostile::empty().is_empty());
}

#[test]
fn garbage_pdf_has_a_header_and_nothing_else() {
    let bytes = hostile::pdf_garbage_after_header();
    assert!(bytes.starts_with(b"%PDF-1.7"));
    assert!(bytes.len() > 60_000);
    assert!(lopdf::Document::load_mem(&bytes).is_err());
    assert_eq!(bytes, hostile::pdf_garbage_after_header(), "deterministic");
}

#[test]
fn page_tree_cycle_and_bad_length_are_in_the_file() {
    let bytes = hostile::pdf_page_tree_cycle();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("/Kids [3 0 R 4 0 R]"));
    assert!(text.contains("4 0 obj\n<< /Type /Pages /Parent 2 0 R /Kids [2 0 R]"));
    assert!(text.contains("/Length 4096"));
    assert!(bytes.len() < 4096, "the declared length runs past the end");
    let text = String::from_utf8_lossy(&hostile::pdf_wrong_stream_length()).into_owned();
    assert!(text.contains("/Length 4096") && !text.contains("/Kids [2 0 R]"));
}

#[test]
fn pdf_without_text_layer_has_no_text_operators() {
    let doc = lopdf::Document::load_mem(&hostile::pdf_without_text_layer()).unwrap();
    let pages = doc.get_pages();
    assert_eq!(pages.len(), 2);
    for id in pages.values() {
        let content = doc.get_page_content(*id).unwrap();
        let ops = lopdf::content::Content::decode(&content)
            .unwrap()
            .operations;
        assert!(!ops.is_empty());
        assert!(
            ops.iter()
                .all(|op| !matches!(op.operator.as_str(), "BT" | "Tj" | "TJ" | "'" | "\"")),
            "{ops:?}"
        );
    }
}

/// Visible text of an HTML page: drops `<script>`, `<style>` and
/// `<noscript>` elements, then every tag.
fn visible_text(html: &str) -> String {
    let mut rest = html.to_string();
    for tag in ["script", "style", "noscript"] {
        while let Some(start) = rest.find(&format!("<{tag}")) {
            let close = format!("</{tag}>");
            let end = rest[start..]
                .find(&close)
                .map_or(rest.len(), |e| start + e + close.len());
            rest.replace_range(start..end, " ");
        }
    }
    let mut out = String::new();
    let mut in_tag = false;
    for c in rest.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn hostile_html_hides_its_script_but_keeps_the_sentence() {
    let html = String::from_utf8(hostile::html_with_scripts_and_remote_images()).unwrap();
    for needle in [
        "<script src=\"https://",
        "<img src=\"https://tracker.example/",
        "<iframe",
        "<style>",
        "<link rel=\"stylesheet\" href=\"https://",
        "onload=",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    assert!(html.contains(hostile::HTML_SCRIPT_STRING));
    let visible = visible_text(&html);
    assert!(
        visible.contains(hostile::HTML_VISIBLE_SENTENCE),
        "{visible}"
    );
    assert!(!visible.contains(hostile::HTML_SCRIPT_STRING), "{visible}");
    assert!(!visible.contains(hostile::HTML_STYLE_STRING), "{visible}");
}

#[test]
fn large_text_file_has_exactly_the_requested_size() {
    let dir = tempfile::tempdir().unwrap();
    for size in [0u64, 1, 1_000_003] {
        let path = dir.path().join(format!("big-{size}.txt"));
        hostile::write_large_text_file(&path, size).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, size);
        let text = String::from_utf8(bytes).unwrap();
        if size > 100 {
            assert!(text.lines().count() > 1000 || size < 100_000);
            assert!(text.starts_with("000000001 "), "{}", &text[..40]);
        }
    }
}
