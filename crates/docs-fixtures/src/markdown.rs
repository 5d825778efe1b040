//! Markdown writer. Markdown has no pages, so pages are written one after
//! another; page labels for Markdown documents therefore only say which
//! part of the file holds the answer.

use crate::model::{Block, SourceDoc};

/// Makes a paragraph safe to start a line: text that Markdown would read as
/// a heading, quote, list item or rule gets its first character escaped.
fn escape_line_start(text: &str) -> String {
    let trimmed = text.trim_start();
    let first = trimmed.chars().next();
    let numbered = {
        let digits = trimmed.chars().take_while(char::is_ascii_digit).count();
        digits > 0 && matches!(trimmed[digits..].chars().next(), Some('.') | Some(')'))
    };
    match first {
        Some('#' | '>' | '-' | '*' | '+' | '=' | '|') => format!("\\{trimmed}"),
        Some(_) if numbered => {
            let digits = trimmed.chars().take_while(char::is_ascii_digit).count();
            format!("{}\\{}", &trimmed[..digits], &trimmed[digits..])
        }
        _ => trimmed.to_string(),
    }
}

/// Writes `doc` as CommonMark: ATX headings (`#` to `###`) and paragraphs
/// separated by blank lines.
pub fn write(doc: &SourceDoc) -> String {
    let mut parts = Vec::new();
    for blocks in &doc.pages {
        for block in blocks {
            match block {
                Block::Heading { level, text } => {
                    let hashes = "#".repeat(usize::from((*level).clamp(1, 3)));
                    parts.push(format!("{hashes} {}", text.trim()));
                }
                Block::Para(text) => parts.push(escape_line_start(text)),
            }
        }
    }
    let mut out = parts.join("\n\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Format;

    #[test]
    fn headings_and_paragraphs() {
        let doc = SourceDoc {
            id: "m".into(),
            title: "M".into(),
            format: Format::Markdown,
            pages: vec![
                vec![
                    Block::Heading {
                        level: 1,
                        text: "Title".into(),
                    },
                    Block::Para("Body.".into()),
                ],
                vec![
                    Block::Heading {
                        level: 3,
                        text: "Sub".into(),
                    },
                    Block::Para("# not a heading".into()),
                    Block::Para("1. not a list".into()),
                ],
            ],
        };
        assert_eq!(
            write(&doc),
            "# Title\n\nBody.\n\n### Sub\n\n\\# not a heading\n\n1\\. not a list\n"
        );
    }
}
