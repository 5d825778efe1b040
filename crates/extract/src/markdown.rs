//! Markdown (CommonMark): headings and paragraphs; list items, quotes,
//! table cells and code blocks become paragraphs. Raw HTML inside is
//! dropped, never interpreted.

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use crate::{push_block, Page};

pub(crate) fn extract(text: &str) -> Vec<Page> {
    let mut blocks = Vec::new();
    let mut cur = String::new();
    let mut heading: Option<u8> = None;
    let flush = |blocks: &mut Vec<_>, cur: &mut String, heading: Option<u8>| {
        push_block(blocks, heading, cur);
        cur.clear();
    };
    for event in Parser::new_ext(text, pulldown_cmark::Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut blocks, &mut cur, None);
                heading = Some(level as u8);
            }
            Event::End(TagEnd::Heading(_)) => {
                flush(&mut blocks, &mut cur, heading);
                heading = None;
            }
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::TableRow
                | TagEnd::TableHead
                | TagEnd::BlockQuote(_),
            ) => flush(&mut blocks, &mut cur, None),
            Event::Start(Tag::Item) => flush(&mut blocks, &mut cur, None),
            Event::End(TagEnd::TableCell) => cur.push_str(" | "),
            Event::Text(t) | Event::Code(t) => cur.push_str(&t),
            Event::SoftBreak | Event::HardBreak => cur.push(' '),
            // Raw HTML is neither shown nor run.
            Event::Html(_) | Event::InlineHtml(_) => {}
            _ => {}
        }
    }
    flush(&mut blocks, &mut cur, None);
    vec![Page {
        number: None,
        blocks,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_paragraphs_and_lists() {
        let pages = extract("# Claims\n\nCall us\nwithin 24 hours.\n\n## Motor\n\n- one\n- two\n\n<script>x()</script>\n");
        let b = &pages[0].blocks;
        assert_eq!((b[0].heading, b[0].text.as_str()), (Some(1), "Claims"));
        assert_eq!(b[1].text, "Call us within 24 hours.");
        assert_eq!((b[2].heading, b[2].text.as_str()), (Some(2), "Motor"));
        assert_eq!(b[3].text, "one");
        assert_eq!(b[4].text, "two");
        assert!(!b.iter().any(|x| x.text.contains("x()")));
    }
}
