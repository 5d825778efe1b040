//! HTML: the visible text only. Scripts, styles, frames, forms and
//! templates are skipped; nothing the page links to (images, scripts,
//! style sheets) is ever fetched: this is a parser, with no network.

use scraper::{ElementRef, Html, Node};

use crate::{push_block, Block, Page};

/// Elements whose content is not visible text.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "head",
    "select", "button", "canvas",
];

/// Elements that end a paragraph.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "li",
    "td",
    "th",
    "tr",
    "section",
    "article",
    "blockquote",
    "pre",
    "dt",
    "dd",
    "br",
    "hr",
    "table",
    "ul",
    "ol",
    "header",
    "footer",
    "main",
    "nav",
    "aside",
    "figure",
    "figcaption",
    "caption",
    "address",
    "body",
];

pub(crate) fn extract(text: &str) -> Vec<Page> {
    let doc = Html::parse_document(text);
    let mut walk = Walk::default();
    walk.element(doc.root_element());
    walk.flush(None);
    vec![Page {
        number: None,
        blocks: walk.blocks,
    }]
}

#[derive(Default)]
struct Walk {
    blocks: Vec<Block>,
    cur: String,
}

impl Walk {
    fn flush(&mut self, heading: Option<u8>) {
        push_block(&mut self.blocks, heading, &self.cur);
        self.cur.clear();
    }

    fn element(&mut self, el: ElementRef<'_>) {
        let name = el.value().name();
        if SKIPPED.contains(&name) {
            return;
        }
        let heading = match name {
            "h1" => Some(1),
            "h2" => Some(2),
            "h3" => Some(3),
            "h4" => Some(4),
            "h5" => Some(5),
            "h6" => Some(6),
            _ => None,
        };
        let block = heading.is_some() || BLOCKS.contains(&name);
        if block {
            self.flush(None);
        }
        for child in el.children() {
            match child.value() {
                Node::Text(t) => self.cur.push_str(t),
                Node::Element(_) => {
                    if let Some(e) = ElementRef::wrap(child) {
                        self.element(e);
                    }
                }
                _ => {}
            }
        }
        if block {
            self.flush(heading);
        } else {
            // Inline elements still separate words (`<span>a</span><span>b</span>`
            // reads as one word in a browser only when nothing separates them;
            // a space is the safer error for search).
            if matches!(name, "td" | "th" | "img") {
                self.cur.push(' ');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_text_only() {
        let pages = extract(
            "<html><head><title>T</title><script>steal()</script></head><body>\
             <h1>Complaints</h1><p onload=\"x()\">Reply within <b>eight</b> weeks.</p>\
             <img src=\"https://tracker.example/p.gif\"><style>p{}</style>\
             <ul><li>One</li><li>Two</li></ul><script src=\"https://cdn.example/a.js\"></script></body></html>",
        );
        let b = &pages[0].blocks;
        let texts: Vec<_> = b.iter().map(|b| (b.heading, b.text.as_str())).collect();
        assert_eq!(
            texts,
            vec![
                (Some(1), "Complaints"),
                (None, "Reply within eight weeks."),
                (None, "One"),
                (None, "Two")
            ]
        );
    }
}
