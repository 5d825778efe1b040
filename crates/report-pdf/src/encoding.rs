//! Text to WinAnsi bytes, and bytes to PDF literal strings.
//!
//! The standard fonts are used with WinAnsiEncoding, so every string drawn
//! must first become WinAnsi bytes; characters it lacks get a stand-in
//! rather than an error, because report text comes from users and must
//! never stop a report being made.

/// Maps a character to WinAnsiEncoding bytes. Characters WinAnsi lacks get
/// an ASCII stand-in (`≥` becomes `>=`) or `?`, so the text layer never
/// holds bytes that decode to something else.
pub fn win_ansi(c: char) -> Vec<u8> {
    let byte = match c {
        ' '..='~' => Some(c as u8),
        '\t' | '\n' | '\r' | '\u{a0}' => Some(b' '),
        '€' => Some(0x80),
        '‚' => Some(0x82),
        '„' => Some(0x84),
        '…' => Some(0x85),
        '‰' => Some(0x89),
        '‘' => Some(0x91),
        '’' => Some(0x92),
        '“' => Some(0x93),
        '”' => Some(0x94),
        '•' => Some(0x95),
        '–' => Some(0x96),
        '—' => Some(0x97),
        '™' => Some(0x99),
        // WinAnsi agrees with Latin-1 from 0xA1 up (£, ©, é, ½ …).
        '\u{a1}'..='\u{ff}' => Some(c as u8),
        _ => None,
    };
    if let Some(b) = byte {
        return vec![b];
    }
    let stand_in = match c {
        '≥' => ">=",
        '≤' => "<=",
        '→' => "->",
        '←' => "<-",
        '−' | '‐' | '‑' => "-",
        '✓' | '✔' => "v",
        _ => "?",
    };
    stand_in.as_bytes().to_vec()
}

/// Encodes a string to WinAnsi bytes (see [`win_ansi`]).
pub fn encode_win_ansi(text: &str) -> Vec<u8> {
    text.chars().flat_map(win_ansi).collect()
}

/// Escapes WinAnsi bytes for a PDF literal string: backslash and both
/// parentheses always (balanced or not, so no reader has to count), and
/// anything outside printable ASCII as a three-digit octal escape so the
/// content stream stays 7-bit.
pub fn escape_literal(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 8);
    for &b in bytes {
        match b {
            b'(' | b')' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            32..=126 => out.push(char::from(b)),
            _ => {
                out.push('\\');
                out.push(char::from(b'0' + (b >> 6)));
                out.push(char::from(b'0' + ((b >> 3) & 7)));
                out.push(char::from(b'0' + (b & 7)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_delimiters_and_high_bytes() {
        let bytes = encode_win_ansi(r"a (b) c\d £5 – it’s");
        assert_eq!(escape_literal(&bytes), r"a \(b\) c\\d \2435 \226 it\222s");
        assert_eq!(escape_literal(&[0, 7, 255]), r"\000\007\377");
    }

    #[test]
    fn unmappable_characters_get_stand_ins() {
        assert_eq!(encode_win_ansi("≥ 2 → 雪"), b">= 2 -> ?".to_vec());
        assert_eq!(encode_win_ansi("Zoë 😀"), b"Zo\xeb ?".to_vec());
    }

    #[test]
    fn latin_1_letters_keep_their_code() {
        assert_eq!(encode_win_ansi("naïve £é"), b"na\xefve \xa3\xe9".to_vec());
        assert_eq!(encode_win_ansi("€ – —"), vec![0x80, b' ', 0x96, b' ', 0x97]);
    }
}
