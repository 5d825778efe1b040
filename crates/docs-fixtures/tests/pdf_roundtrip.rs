//! Round trip through `pdf-extract`, the extractor the documents library
//! uses: what this crate writes must come back page by page.

use crm_docs_fixtures::{corpus, hostile, Format, SourceDoc};

/// Collapses all whitespace to single spaces.
fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn check_round_trip(doc: &SourceDoc, bytes: &[u8]) {
    let pages = pdf_extract::extract_text_from_mem_by_pages(bytes)
        .unwrap_or_else(|e| panic!("{}: {e}", doc.id));
    assert_eq!(pages.len(), doc.pages.len(), "{}: page count", doc.id);
    for (i, extracted) in pages.iter().enumerate() {
        let got = normalise(extracted);
        let first = doc.pages[i].first().map(|b| normalise(b.text()));
        if let Some(first) = first {
            assert!(
                got.starts_with(&first),
                "{} page {}: does not start with {first:?}\n{got}",
                doc.id,
                i + 1
            );
        }
        // Stronger than asked: the whole page comes back word for word,
        // which is what page-level labels rely on.
        let want = normalise(&doc.page_text(i + 1).unwrap_or_default());
        assert_eq!(got, want, "{} page {}", doc.id, i + 1);
    }
}

#[test]
fn every_corpus_pdf_reads_back_page_by_page() {
    let docs: Vec<_> = corpus()
        .into_iter()
        .filter(|d| d.format == Format::Pdf)
        .collect();
    assert!(docs.len() >= 10);
    for doc in &docs {
        check_round_trip(doc, &doc.bytes());
    }
}

#[test]
fn other_corpus_documents_also_survive_as_pdf() {
    // Any document can be written as PDF (bytes_as); make sure the text of
    // the whole corpus is within what the writer handles.
    for doc in corpus().iter().filter(|d| d.format != Format::Pdf) {
        check_round_trip(doc, &doc.bytes_as(Format::Pdf));
    }
}

#[test]
fn extracted_page_text_has_the_documented_shape() {
    let doc = SourceDoc {
        id: "shape".into(),
        title: "Shape".into(),
        format: Format::Pdf,
        pages: vec![vec![
            crm_docs_fixtures::Block::Heading {
                level: 1,
                text: "Fees (2025) £35 – it’s “fine”".into(),
            },
            crm_docs_fixtures::Block::Para("word ".repeat(40)),
            crm_docs_fixtures::Block::Para(r"C:\path\to (file)".into()),
        ]],
    };
    let pages = pdf_extract::extract_text_from_mem_by_pages(&doc.bytes()).unwrap();
    let text = &pages[0];
    // Non-ASCII WinAnsi characters come back as themselves.
    assert!(text.contains("Fees (2025) £35 – it’s “fine”"), "{text:?}");
    // Escaped backslashes and parentheses come back literally.
    assert!(text.contains(r"C:\path\to (file)"), "{text:?}");
    // One newline between wrapped lines, a blank line between blocks.
    let body = text.split("\n\n").find(|p| p.starts_with("word")).unwrap();
    assert_eq!(body.lines().count(), 3, "{body:?}");
    assert!(body.lines().all(|l| l.starts_with("word")), "{body:?}");
    assert!(
        text.starts_with('\n'),
        "pages start with a newline: {text:?}"
    );
}

#[test]
fn pdf_without_text_layer_has_two_empty_pages() {
    let pages =
        pdf_extract::extract_text_from_mem_by_pages(&hostile::pdf_without_text_layer()).unwrap();
    assert_eq!(pages.len(), 2);
    assert!(pages.iter().all(|p| p.trim().is_empty()), "{pages:?}");
}

#[test]
fn pdf_named_docx_is_a_readable_pdf() {
    let bytes = hostile::pdf_named_docx();
    assert!(bytes.starts_with(b"%PDF-"));
    let pages = pdf_extract::extract_text_from_mem_by_pages(&bytes).unwrap();
    assert!(normalise(&pages[0]).contains(hostile::PDF_NAMED_DOCX_SENTENCE));
}
