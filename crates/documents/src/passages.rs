//! Pages of headings and paragraphs into passages: the unit that is
//! searched, cited and highlighted.
//!
//! A passage never crosses a page or a heading, so its citation names one
//! page and one heading path; it gathers paragraphs up to [`TARGET`]
//! characters, and a paragraph longer than [`MAX`] is cut at sentence ends.
//! Each passage is a span of its page's text (stored once), so the viewer
//! highlights exactly what was cited.

use crm_extract::Extracted;

/// Aim for passages about this long (characters): a few paragraphs, long
/// enough to answer from, short enough to cite precisely.
pub const TARGET: usize = 900;
/// A paragraph longer than this is cut into sentences.
pub const MAX: usize = 1400;

/// A document read into pages and passages.
#[derive(Debug, Default)]
pub struct Layout {
    /// Each page's text: its blocks joined by blank lines.
    pub pages: Vec<String>,
    /// Whether the page numbers are real (PDF, a DOCX with page breaks).
    pub paged: bool,
    /// The passages, in reading order.
    pub passages: Vec<Span>,
    /// The first top-level heading, a title when none is given.
    pub first_heading: Option<String>,
}

/// A passage: where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// 1-based index into [`Layout::pages`].
    pub page: usize,
    /// The headings above it, outermost first, joined by ` › `.
    pub heading: String,
    /// Start on the page, in characters.
    pub start: usize,
    /// End on the page (exclusive), in characters.
    pub end: usize,
}

/// Lay `x` out as pages and passages.
pub fn layout(x: &Extracted) -> Layout {
    let mut out = Layout {
        paged: x.pages.iter().any(|p| p.number.is_some()),
        ..Layout::default()
    };
    // The heading path carries over page breaks: a section runs on.
    let mut path: Vec<(u8, String)> = Vec::new();
    for (i, page) in x.pages.iter().enumerate() {
        let mut text = String::new();
        let mut chars = 0usize;
        let mut open: Option<Span> = None;
        for block in &page.blocks {
            if !text.is_empty() {
                text.push_str("\n\n");
                chars += 2;
            }
            let start = chars;
            text.push_str(&block.text);
            chars += block.text.chars().count();
            if let Some(level) = block.heading {
                if out.first_heading.is_none() && level <= 1 {
                    out.first_heading = Some(block.text.clone());
                }
                close(&mut out.passages, &mut open);
                path.retain(|(l, _)| *l < level);
                path.push((level, block.text.clone()));
                // The heading opens the passage under it: it is part of
                // what the reader sees highlighted.
                open = Some(Span {
                    page: i + 1,
                    heading: joined(&path),
                    start,
                    end: chars,
                });
                continue;
            }
            let len = chars - start;
            if len > MAX {
                close(&mut out.passages, &mut open);
                for (s, e) in sentences(&block.text, TARGET) {
                    out.passages.push(Span {
                        page: i + 1,
                        heading: joined(&path),
                        start: start + s,
                        end: start + e,
                    });
                }
                continue;
            }
            match &mut open {
                Some(span) if chars - span.start <= TARGET || span.end == span.start => {
                    span.end = chars;
                }
                Some(span) if is_heading_only(span, &path) => span.end = chars,
                _ => {
                    close(&mut out.passages, &mut open);
                    open = Some(Span {
                        page: i + 1,
                        heading: joined(&path),
                        start,
                        end: chars,
                    });
                }
            }
        }
        close(&mut out.passages, &mut open);
        out.pages.push(text);
    }
    out
}

/// A span holding only its heading so far takes the next paragraph
/// whatever its length: a heading alone is no answer.
fn is_heading_only(span: &Span, path: &[(u8, String)]) -> bool {
    path.last()
        .is_some_and(|(_, h)| span.end - span.start == h.chars().count())
}

fn close(done: &mut Vec<Span>, open: &mut Option<Span>) {
    if let Some(span) = open.take() {
        if span.end > span.start {
            done.push(span);
        }
    }
}

fn joined(path: &[(u8, String)]) -> String {
    path.iter()
        .map(|(_, h)| h.as_str())
        .collect::<Vec<_>>()
        .join(" › ")
}

/// Cut `text` at sentence ends into pieces of about `target` characters;
/// returns character ranges. A sentence longer than `target` is cut at a
/// space.
fn sentences(text: &str, target: usize) -> Vec<(usize, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        let hard = (start + target).min(chars.len());
        let mut end = hard;
        if hard < chars.len() {
            // The last sentence end in the second half of the window, else
            // the last space, else the window's end.
            let window = start + target / 2..hard;
            end = window
                .clone()
                .rev()
                .find(|&j| matches!(chars[j], '.' | '?' | '!') && chars.get(j + 1) == Some(&' '))
                .map(|j| j + 1)
                .or_else(|| window.rev().find(|&j| chars[j] == ' '))
                .unwrap_or(hard);
        }
        out.push((start, end));
        start = end;
        while start < chars.len() && chars[start] == ' ' {
            start += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_extract::{Block, Kind, Page};

    fn b(heading: Option<u8>, text: &str) -> Block {
        Block {
            heading,
            text: text.into(),
        }
    }

    fn slice(l: &Layout, s: &Span) -> String {
        l.pages[s.page - 1]
            .chars()
            .skip(s.start)
            .take(s.end - s.start)
            .collect()
    }

    #[test]
    fn passages_follow_headings_and_pages() {
        let x = Extracted {
            title: None,
            kind: Kind::Pdf,
            needs_ocr: false,
            pages: vec![
                Page {
                    number: Some(1),
                    blocks: vec![
                        b(Some(1), "Claims guide"),
                        b(None, "Intro para."),
                        b(Some(2), "Motor"),
                        b(None, "Ring within 24 hours."),
                    ],
                },
                Page {
                    number: Some(2),
                    blocks: vec![
                        b(None, "Keep photos."),
                        b(Some(2), "Home"),
                        b(None, "Escape of water."),
                    ],
                },
            ],
        };
        let l = layout(&x);
        assert!(l.paged);
        assert_eq!(l.first_heading.as_deref(), Some("Claims guide"));
        let got: Vec<_> = l
            .passages
            .iter()
            .map(|s| (s.page, s.heading.as_str(), slice(&l, s)))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, "Claims guide", "Claims guide\n\nIntro para.".to_string()),
                (
                    1,
                    "Claims guide › Motor",
                    "Motor\n\nRing within 24 hours.".to_string()
                ),
                // The section runs on over the page break, cited on page 2.
                (2, "Claims guide › Motor", "Keep photos.".to_string()),
                (
                    2,
                    "Claims guide › Home",
                    "Home\n\nEscape of water.".to_string()
                ),
            ]
        );
    }

    #[test]
    fn long_paragraphs_are_cut_at_sentences_and_spans_are_characters() {
        let sentence = "Le résumé £5 – café. ";
        let long = sentence.repeat(120);
        let x = Extracted {
            title: None,
            kind: Kind::Text,
            needs_ocr: false,
            pages: vec![Page {
                number: None,
                blocks: vec![b(None, long.trim())],
            }],
        };
        let l = layout(&x);
        assert!(!l.paged);
        assert!(l.passages.len() > 2);
        for s in &l.passages {
            let t = slice(&l, s);
            assert!(t.chars().count() <= TARGET, "{}", t.len());
            assert!(t.ends_with('.'), "cut at a sentence end: {t:?}");
        }
        // Spans cover the paragraph without gaps but the spaces between.
        let covered: usize = l.passages.iter().map(|s| s.end - s.start).sum();
        assert!(covered + l.passages.len() >= long.trim().chars().count());
    }
}
