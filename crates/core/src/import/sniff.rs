//! Guessing a CSV file's encoding and delimiter from its first bytes.

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

/// How many bytes are read to guess.
pub const SAMPLE_LEN: usize = 64 * 1024;

/// The guessed text encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8; `bom` is true if the file starts with a byte-order mark.
    Utf8 {
        /// Whether a BOM was present.
        bom: bool,
    },
    /// Windows-1252 (Excel's "CSV" on Western Windows).
    Windows1252,
    /// UTF-16 little-endian with BOM (Excel's "Unicode text").
    Utf16Le,
    /// UTF-16 big-endian with BOM.
    Utf16Be,
}

impl TextEncoding {
    /// Name for reports.
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 { bom: true } => "UTF-8 (with BOM)",
            TextEncoding::Utf8 { bom: false } => "UTF-8",
            TextEncoding::Windows1252 => "Windows-1252",
            TextEncoding::Utf16Le => "UTF-16LE",
            TextEncoding::Utf16Be => "UTF-16BE",
        }
    }

    pub(crate) fn encoding(self) -> &'static Encoding {
        match self {
            TextEncoding::Utf8 { .. } => UTF_8,
            TextEncoding::Windows1252 => WINDOWS_1252,
            TextEncoding::Utf16Le => UTF_16LE,
            TextEncoding::Utf16Be => UTF_16BE,
        }
    }
}

/// Guess the encoding of a file from its first bytes.
pub fn encoding(sample: &[u8], complete: bool) -> TextEncoding {
    if sample.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return TextEncoding::Utf8 { bom: true };
    }
    if sample.starts_with(&[0xFF, 0xFE]) {
        return TextEncoding::Utf16Le;
    }
    if sample.starts_with(&[0xFE, 0xFF]) {
        return TextEncoding::Utf16Be;
    }
    // Weigh valid multi-byte UTF-8 characters against invalid sequences:
    // a UTF-8 file with a few damaged rows stays UTF-8 (those rows are
    // reported), while Windows-1252 text has almost no valid sequences.
    let (mut multibyte, mut invalid) = (0usize, 0usize);
    let mut rest = sample;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                multibyte += s.chars().filter(|c| !c.is_ascii()).count();
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                multibyte += std::str::from_utf8(good)
                    .map(|s| s.chars().filter(|c| !c.is_ascii()).count())
                    .unwrap_or(0);
                match e.error_len() {
                    Some(n) => {
                        // A run of bad bytes is one damaged spot.
                        if !good.is_empty() || invalid == 0 {
                            invalid += 1;
                        }
                        rest = &bad[n..];
                    }
                    // Cut off by the end of the sample: not an error unless
                    // the sample is the whole file.
                    None => {
                        if complete {
                            invalid += 1;
                        }
                        break;
                    }
                }
            }
        }
    }
    if invalid == 0 || (multibyte > 0 && multibyte >= invalid) {
        TextEncoding::Utf8 { bom: false }
    } else {
        TextEncoding::Windows1252
    }
}

/// Guess the delimiter from the first record of decoded text: the candidate
/// that occurs most often outside quotes. Defaults to a comma.
pub fn delimiter(text: &str) -> u8 {
    let candidates = [b',', b';', b'\t', b'|'];
    let mut counts = [0usize; 4];
    let mut in_quotes = false;
    for b in text.bytes() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => break,
            _ if !in_quotes => {
                if let Some(i) = candidates.iter().position(|c| *c == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let (best, n) = counts
        .iter()
        .enumerate()
        .max_by_key(|(i, n)| (**n, usize::MAX - *i))
        .map(|(i, n)| (i, *n))
        .unwrap_or((0, 0));
    if n == 0 {
        b','
    } else {
        candidates[best]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boms_and_encodings() {
        assert_eq!(
            encoding(b"\xEF\xBB\xBFa,b", true),
            TextEncoding::Utf8 { bom: true }
        );
        assert_eq!(encoding(b"\xFF\xFEa\0", true), TextEncoding::Utf16Le);
        assert_eq!(
            encoding("Müller,Zoë".as_bytes(), true),
            TextEncoding::Utf8 { bom: false }
        );
        assert_eq!(
            encoding(b"M\xFCller,Stra\xDFe", true),
            TextEncoding::Windows1252
        );
        // cut in the middle of a two-byte character at the end of a sample
        assert_eq!(
            encoding(&"aü".as_bytes()[..2], false),
            TextEncoding::Utf8 { bom: false }
        );
    }

    #[test]
    fn delimiters() {
        assert_eq!(delimiter("a,b,c\n1,2,3"), b',');
        assert_eq!(delimiter("Vorname;Nachname;\"Ort, Land\"\n"), b';');
        assert_eq!(delimiter("a\tb\tc"), b'\t');
        assert_eq!(delimiter("\"a,b,c\";d;e"), b';');
        assert_eq!(delimiter("single"), b',');
    }
}
