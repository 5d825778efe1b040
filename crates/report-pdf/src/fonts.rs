//! The two standard fonts and their metrics.
//!
//! Helvetica and Helvetica-Bold are among the 14 fonts every PDF reader
//! has, so nothing is embedded; but the writer still has to know how wide
//! text is to wrap lines, truncate labels and right-align figures, hence the
//! advance widths below.

/// Advance widths (per 1000 em) of Helvetica for codes 32..=126, from the
/// Adobe AFM files.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// The same for Helvetica-Bold.
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

/// Which of the two fonts a piece of text is set in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// Helvetica: body text, table cells, labels.
    Regular,
    /// Helvetica-Bold: titles, headings, table headers.
    Bold,
}

impl Face {
    /// The name the page resources give the font (`/F1`, `/F2`), which
    /// content streams select it by.
    pub fn resource_name(self) -> &'static str {
        match self {
            Face::Regular => "F1",
            Face::Bold => "F2",
        }
    }

    /// The PostScript name of the standard font.
    pub fn base_font(self) -> &'static str {
        match self {
            Face::Regular => "Helvetica",
            Face::Bold => "Helvetica-Bold",
        }
    }

    /// Width in points of a single WinAnsi byte at `size`.
    pub fn byte_width(self, byte: u8, size: f64) -> f64 {
        f64::from(self.units(byte)) * size / 1000.0
    }

    /// Width in points of WinAnsi bytes at `size`.
    pub fn width(self, bytes: &[u8], size: f64) -> f64 {
        let units: u32 = bytes.iter().map(|&b| self.units(b)).sum();
        f64::from(units) * size / 1000.0
    }

    /// Advance width of one byte per 1000 em. Codes above 126 are not in
    /// the tables: the common wide ones are listed and the rest (mostly
    /// accented letters) are given the width of a digit, which is close
    /// enough for wrapping.
    fn units(self, byte: u8) -> u32 {
        let table = match self {
            Face::Regular => &HELVETICA,
            Face::Bold => &HELVETICA_BOLD,
        };
        match byte {
            32..=126 => u32::from(table[usize::from(byte - 32)]),
            // Em dash, ellipsis, per mille.
            0x97 | 0x85 | 0x89 => 1000,
            // Curly quotes.
            0x91..=0x94 => 333,
            _ => 556,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_come_from_the_tables() {
        // "Hi" = 722 + 222 in Helvetica, 722 + 278 in bold.
        assert!((Face::Regular.width(b"Hi", 10.0) - 9.44).abs() < 1e-9);
        assert!((Face::Bold.width(b"Hi", 10.0) - 10.0).abs() < 1e-9);
        assert!((Face::Regular.byte_width(b'W', 1000.0) - 944.0).abs() < 1e-9);
        assert!((Face::Regular.width(&[0x97], 10.0) - 10.0).abs() < 1e-9);
        assert_eq!(Face::Regular.width(b"", 10.0), 0.0);
    }
}
