//! One page's content stream, built operator by operator.
//!
//! The report layout speaks in text lines, filled rectangles and grid
//! lines; this turns those into PDF operators. Every graphics-state change
//! is wrapped in `q … Q`, so nothing drawn leaks a colour or line width
//! into what comes after it.

use crate::fonts::Face;
use crate::writer::show_text;
use std::fmt::Write as _;

/// A colour as red, green and blue, each 0..=1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rgb(pub f64, pub f64, pub f64);

/// A rectangle: left, bottom, width, height, in points.
pub(crate) type Rect = (f64, f64, f64, f64);

/// The operators of one page so far.
#[derive(Debug, Default)]
pub(crate) struct Canvas {
    ops: String,
}

impl Canvas {
    /// Draws one line of WinAnsi text in black with its baseline at
    /// (`x`, `y`).
    pub(crate) fn text(&mut self, face: Face, size: f64, x: f64, y: f64, text: &[u8]) {
        if !text.is_empty() {
            show_text(&mut self.ops, face, size, x, y, text);
        }
    }

    /// Draws one line of text in a grey `level` (0 black, 1 white).
    pub(crate) fn grey_text(
        &mut self,
        level: f64,
        face: Face,
        size: f64,
        x: f64,
        y: f64,
        text: &[u8],
    ) {
        if text.is_empty() {
            return;
        }
        let _ = writeln!(self.ops, "q {level:.2} g");
        show_text(&mut self.ops, face, size, x, y, text);
        self.ops.push_str("Q\n");
    }

    /// Fills a rectangle with `colour`.
    pub(crate) fn fill_rect(&mut self, (x, y, w, h): Rect, colour: Rgb) {
        let Rgb(r, g, b) = colour;
        let _ = writeln!(
            self.ops,
            "q {r:.3} {g:.3} {b:.3} rg {x:.2} {y:.2} {w:.2} {h:.2} re f Q"
        );
    }

    /// Strokes the outlines of `rects` with thin grey lines: a table's
    /// grid, one path for a whole row.
    pub(crate) fn grid(&mut self, rects: &[Rect]) {
        if rects.is_empty() {
            return;
        }
        self.ops.push_str("q 0.5 w 0.6 G\n");
        for (x, y, w, h) in rects {
            let _ = writeln!(self.ops, "{x:.2} {y:.2} {w:.2} {h:.2} re");
        }
        self.ops.push_str("S Q\n");
    }

    /// Draws a thin horizontal rule from `x1` to `x2` at height `y`.
    pub(crate) fn rule(&mut self, x1: f64, x2: f64, y: f64) {
        let _ = writeln!(
            self.ops,
            "q 0.75 w 0.6 G {x1:.2} {y:.2} m {x2:.2} {y:.2} l S Q"
        );
    }

    /// The operators so far.
    #[cfg(test)]
    pub(crate) fn ops(&self) -> &str {
        &self.ops
    }

    /// The finished content stream.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.ops.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_restore_the_graphics_state() {
        let mut c = Canvas::default();
        c.fill_rect((1.0, 2.0, 3.0, 4.0), Rgb(1.0, 0.5, 0.0));
        c.grey_text(0.5, Face::Regular, 8.0, 10.0, 20.0, b"x");
        c.grid(&[(0.0, 0.0, 10.0, 10.0)]);
        c.text(Face::Regular, 8.0, 0.0, 0.0, b"");
        let ops = String::from_utf8(c.into_bytes()).unwrap();
        assert_eq!(ops.matches("q ").count(), 3, "{ops}");
        assert_eq!(ops.matches('Q').count(), 3, "{ops}");
        assert!(ops.contains("1.000 0.500 0.000 rg 1.00 2.00 3.00 4.00 re f"));
        // Empty text draws nothing.
        assert_eq!(ops.matches("BT").count(), 1);
    }
}
