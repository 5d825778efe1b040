//! HTML writer: a complete, static page with one `<section class="page">`
//! per source page, so tests can check that page boundaries survive even in
//! a format that has none of its own.

use crate::model::{Block, SourceDoc};

/// Escapes text for HTML content and double-quoted attributes.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Writes `doc` as an HTML5 document.
pub fn write(doc: &SourceDoc) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(&format!("<title>{}</title>\n", html_escape(&doc.title)));
    out.push_str("</head>\n<body>\n<main>\n");
    for (i, blocks) in doc.pages.iter().enumerate() {
        out.push_str(&format!("<section class=\"page\" id=\"page-{}\">\n", i + 1));
        for block in blocks {
            match block {
                Block::Heading { level, text } => {
                    let level = (*level).clamp(1, 3);
                    out.push_str(&format!("<h{level}>{}</h{level}>\n", html_escape(text)));
                }
                Block::Para(text) => out.push_str(&format!("<p>{}</p>\n", html_escape(text))),
            }
        }
        out.push_str("</section>\n");
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Format;

    #[test]
    fn sections_headings_and_escaping() {
        let doc = SourceDoc {
            id: "h".into(),
            title: "A & B".into(),
            format: Format::Html,
            pages: vec![
                vec![
                    Block::Heading {
                        level: 2,
                        text: "Rule <1>".into(),
                    },
                    Block::Para("x".into()),
                ],
                vec![Block::Para("y".into())],
            ],
        };
        let html = write(&doc);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>A &amp; B</title>"));
        assert!(html.contains("<h2>Rule &lt;1&gt;</h2>"));
        assert_eq!(html.matches("<section class=\"page\"").count(), 2);
        assert!(html.trim_end().ends_with("</html>"));
    }
}
