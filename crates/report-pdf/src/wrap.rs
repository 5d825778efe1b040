//! Fitting text to a width: word wrap and truncation, by measured widths.
//!
//! Widths come from the font metrics rather than a character count, so a
//! line of capitals and a line of `i`s both fill the column without
//! crossing it.

use crate::encoding::encode_win_ansi;
use crate::fonts::Face;

/// What [`wrap`] does with a single word wider than the whole line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongWords {
    /// Give it a line of its own and let it run past the edge. For text
    /// whose words must come back whole, such as fixtures an extractor's
    /// output is compared with word by word.
    Keep,
    /// Break it between characters so that no line is wider than asked:
    /// a pasted URL or reference number must not run off the page or over
    /// the next table cell.
    Break,
}

/// Greedy word wrap of `text` in `face` at `size` to lines no wider than
/// `width` points, returned as WinAnsi bytes. Any run of whitespace
/// (newlines included) separates words; a text with no words gives no
/// lines. See [`LongWords`] for words wider than the line.
pub fn wrap(text: &str, face: Face, size: f64, width: f64, long_words: LongWords) -> Vec<Vec<u8>> {
    let space = face.width(b" ", size);
    let mut lines = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut current_width = 0.0;
    for word in text.split_whitespace() {
        let bytes = encode_win_ansi(word);
        let w = face.width(&bytes, size);
        if !current.is_empty() && current_width + space + w > width {
            lines.push(std::mem::take(&mut current));
            current_width = 0.0;
        }
        if long_words == LongWords::Break && w > width {
            // `current` is empty here: the word did not fit after it.
            let mut pieces = break_word(&bytes, face, size, width);
            if let Some(last) = pieces.pop() {
                lines.extend(pieces);
                current_width = face.width(&last, size);
                current = last;
            }
            continue;
        }
        if !current.is_empty() {
            current.push(b' ');
            current_width += space;
        }
        current.extend_from_slice(&bytes);
        current_width += w;
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// Splits one word's bytes into pieces no wider than `width`. Each piece
/// holds at least one byte, so a column narrower than a letter still makes
/// progress (that letter overhangs) instead of looping.
fn break_word(bytes: &[u8], face: Face, size: f64, width: f64) -> Vec<Vec<u8>> {
    let mut pieces = Vec::new();
    let mut piece = Vec::new();
    let mut piece_width = 0.0;
    for &b in bytes {
        let bw = face.byte_width(b, size);
        if !piece.is_empty() && piece_width + bw > width {
            pieces.push(std::mem::take(&mut piece));
            piece_width = 0.0;
        }
        piece.push(b);
        piece_width += bw;
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    pieces
}

/// Wraps text in which `'\n'` starts a new line: each line of the input is
/// wrapped on its own with long words broken, and an empty input line
/// stays as an empty output line (a deliberate gap).
pub(crate) fn wrap_lines(text: &str, face: Face, size: f64, width: f64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for line in text.split('\n') {
        let wrapped = wrap(line, face, size, width, LongWords::Break);
        if wrapped.is_empty() {
            out.push(Vec::new());
        } else {
            out.extend(wrapped);
        }
    }
    out
}

/// `text` as WinAnsi bytes cut to fit `width`: unchanged if it fits,
/// otherwise as much as fits followed by `...`, so a reader can tell the
/// text was cut. Whitespace runs become single spaces first, since a label
/// is one line.
pub fn truncate(text: &str, face: Face, size: f64, width: f64) -> Vec<u8> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let bytes = encode_win_ansi(&words.join(" "));
    if face.width(&bytes, size) <= width {
        return bytes;
    }
    const ELLIPSIS: &[u8] = b"...";
    let room = width - face.width(ELLIPSIS, size);
    let mut kept = 0;
    let mut used = 0.0;
    for &b in &bytes {
        let bw = face.byte_width(b, size);
        if used + bw > room {
            break;
        }
        used += bw;
        kept += 1;
    }
    let mut out = bytes[..kept].to_vec();
    while out.last() == Some(&b' ') {
        out.pop();
    }
    out.extend_from_slice(ELLIPSIS);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: f64 = 10.0;

    #[test]
    fn lines_stay_inside_the_width() {
        let text = "word ".repeat(300);
        let lines = wrap(&text, Face::Regular, SIZE, 200.0, LongWords::Keep);
        assert!(lines.len() > 5);
        for line in &lines {
            assert!(Face::Regular.width(line, SIZE) <= 200.0);
        }
        // Every word is still there, in order.
        let joined: Vec<u8> = lines.join(&b' ');
        assert_eq!(joined, encode_win_ansi(text.trim_end()));
    }

    #[test]
    fn a_long_word_is_kept_whole_or_broken_as_asked() {
        let long = "x".repeat(190);
        let text = format!("short {long} tail");
        let kept = wrap(&text, Face::Regular, SIZE, 100.0, LongWords::Keep);
        assert_eq!(kept.len(), 3);
        assert_eq!(kept[1], long.as_bytes());

        let broken = wrap(&text, Face::Regular, SIZE, 100.0, LongWords::Break);
        assert!(broken.len() > 5, "{}", broken.len());
        for line in &broken {
            assert!(Face::Regular.width(line, SIZE) <= 100.0, "{line:?}");
        }
        let xs: usize = broken
            .iter()
            .map(|l| l.iter().filter(|&&b| b == b'x').count())
            .sum();
        assert_eq!(xs, 190);
        assert_eq!(broken[0], b"short");
        // The word's last piece shares its line with the next word.
        assert!(broken.last().is_some_and(|l| l.ends_with(b" tail")));
    }

    #[test]
    fn a_column_narrower_than_a_letter_still_ends() {
        let lines = wrap("WWW", Face::Bold, SIZE, 1.0, LongWords::Break);
        assert_eq!(lines, vec![b"W".to_vec(), b"W".to_vec(), b"W".to_vec()]);
        assert!(wrap("", Face::Regular, SIZE, 1.0, LongWords::Break).is_empty());
    }

    #[test]
    fn newlines_start_lines_and_blank_lines_stay() {
        let lines = wrap_lines("one\n\ntwo three", Face::Regular, SIZE, 500.0);
        assert_eq!(
            lines,
            vec![b"one".to_vec(), Vec::new(), b"two three".to_vec()]
        );
    }

    #[test]
    fn truncation_marks_the_cut_and_fits() {
        assert_eq!(
            truncate("Fits  fine", Face::Regular, SIZE, 200.0),
            b"Fits fine"
        );
        let cut = truncate(&"Very long label ".repeat(10), Face::Regular, SIZE, 80.0);
        assert!(cut.ends_with(b"..."), "{cut:?}");
        assert!(cut.starts_with(b"Very long"), "{cut:?}");
        assert!(Face::Regular.width(&cut, SIZE) <= 80.0);
        assert!(Face::Regular.width(&cut, SIZE) > 60.0);
    }
}
