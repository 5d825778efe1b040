//! Sanity checks on the labelled corpus: sizes, shape, and that every label
//! points at something real. These are what make the benchmark numbers
//! computed elsewhere trustworthy.

use crm_docs_fixtures::{corpus, pdf, questions, Block, Format, SourceDoc};
use std::collections::{HashMap, HashSet};

/// Words too common to show that a page is about a question.
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been",
    "before", "being", "but", "by", "can", "could", "did", "do", "does", "doing", "for", "from",
    "get", "got", "had", "has", "have", "her", "here", "hers", "him", "his", "how", "i", "if",
    "in", "into", "is", "it", "its", "just", "me", "more", "most", "much", "my", "need", "needs",
    "no", "not", "now", "of", "on", "one", "or", "our", "out", "she", "should", "so", "still",
    "than", "that", "the", "their", "them", "then", "there", "they", "this", "to", "up", "us",
    "was", "we", "what", "whats", "when", "where", "which", "who", "why", "will", "with", "would",
    "you", "your", "ive", "im", "dont", "isnt", "arent", "many", "long", "way", "go", "going",
];

fn tokens(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// Lower case with whitespace collapsed, so evidence matches across line
/// wrapping in the source files.
fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn by_id() -> HashMap<String, SourceDoc> {
    corpus().into_iter().map(|d| (d.id.clone(), d)).collect()
}

#[test]
fn corpus_is_big_enough_and_balanced() {
    let docs = corpus();
    assert!(docs.len() >= 40, "{} docs", docs.len());
    for format in Format::ALL {
        let n = docs.iter().filter(|d| d.format == format).count();
        assert!(n >= 10, "{format:?}: {n} docs");
    }
    let ids: HashSet<_> = docs.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids.len(), docs.len(), "duplicate ids");
}

#[test]
fn every_document_has_the_agreed_shape() {
    for doc in corpus() {
        assert!(
            (2..=6).contains(&doc.pages.len()),
            "{}: {} pages",
            doc.id,
            doc.pages.len()
        );
        for page in 1..=doc.pages.len() {
            let words = doc.page_word_count(page);
            assert!(
                (150..=400).contains(&words),
                "{} page {page}: {words} words",
                doc.id
            );
        }
        // The title is also the document's first heading, as in a real
        // policy, so extracted text starts with it.
        assert_eq!(
            doc.pages[0].first(),
            Some(&Block::Heading {
                level: 1,
                text: doc.title.clone()
            }),
            "{}",
            doc.id
        );
        assert!(
            doc.id.starts_with('c') || doc.id.starts_with('i'),
            "{}",
            doc.id
        );
    }
}

#[test]
fn no_page_overflows_an_a4_pdf_page() {
    for doc in corpus() {
        assert_eq!(
            pdf::overflowing_pages(&doc),
            Vec::<usize>::new(),
            "{}",
            doc.id
        );
    }
}

#[test]
fn questions_are_labelled_consistently() {
    let docs = by_id();
    let qs = questions();
    assert!(qs.len() >= 60, "{} questions", qs.len());
    let mut ids = HashSet::new();
    for q in &qs {
        assert!(ids.insert(q.id.clone()), "duplicate question id {}", q.id);
        assert!(!q.question.trim().is_empty(), "{}", q.id);
        let mut judged = HashSet::new();
        for j in &q.judgements {
            assert!(docs.contains_key(&j.doc), "{}: unknown doc {}", q.id, j.doc);
            assert!((1..=3).contains(&j.grade), "{}: grade {}", q.id, j.grade);
            assert!(
                judged.insert(j.doc.as_str()),
                "{}: {} judged twice",
                q.id,
                j.doc
            );
        }
        let answer_grade = q
            .judgements
            .iter()
            .find(|j| j.doc == q.answer.doc)
            .map(|j| j.grade);
        assert_eq!(
            answer_grade,
            Some(3),
            "{}: answer doc must be graded 3",
            q.id
        );
    }
}

#[test]
fn every_answer_page_exists_and_shares_a_word_with_its_question() {
    let docs = by_id();
    let mut failures = Vec::new();
    for q in questions() {
        let doc = &docs[&q.answer.doc];
        let Some(page) = doc.page_text(q.answer.page) else {
            failures.push(format!(
                "{}: {} has no page {}",
                q.id, doc.id, q.answer.page
            ));
            continue;
        };
        let page_words: HashSet<String> = tokens(&page).into_iter().collect();
        let shares = tokens(&q.question)
            .into_iter()
            .filter(|t| !STOPWORDS.contains(&t.as_str()))
            .any(|t| page_words.contains(&t));
        if !shares {
            failures.push(format!(
                "{}: page {} of {} shares no content word with {:?}",
                q.id, q.answer.page, doc.id, q.question
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn evidence_is_on_the_answer_page_and_no_other() {
    let docs = by_id();
    let mut failures = Vec::new();
    for q in questions() {
        let doc = &docs[&q.answer.doc];
        let evidence = normalise(&q.answer.evidence);
        if evidence.is_empty() {
            failures.push(format!("{}: empty evidence", q.id));
            continue;
        }
        let pages: Vec<usize> = (1..=doc.pages.len())
            .filter(|p| {
                doc.page_text(*p)
                    .is_some_and(|t| normalise(&t).contains(&evidence))
            })
            .collect();
        if pages != vec![q.answer.page] {
            failures.push(format!(
                "{}: evidence {:?} found on pages {pages:?} of {}, labelled page {}",
                q.id, q.answer.evidence, doc.id, q.answer.page
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn questions_cover_most_documents_and_pages_beyond_the_first() {
    let qs = questions();
    let answered: HashSet<&str> = qs.iter().map(|q| q.answer.doc.as_str()).collect();
    assert!(
        answered.len() >= 40,
        "{} documents answer a question",
        answered.len()
    );
    let later_pages = qs.iter().filter(|q| q.answer.page > 1).count();
    assert!(
        later_pages * 2 >= qs.len(),
        "most answers should not be on page 1"
    );
}
