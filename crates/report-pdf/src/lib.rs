//! Simple report PDFs whose text can be read back.
//!
//! Reports made here (an inspector's evidence pack, for one) are read by
//! people and by machines: an inspector searches them, copies figures out
//! of them, and our own tests check them with `pdftotext`. So every word
//! and every figure, bar charts' included, is real text, and the layout is
//! plain: A4 portrait, one column, headings, paragraphs, tables and
//! horizontal bar charts, with a "Page N of M" footer. Build a [`Report`],
//! add blocks in reading order and call [`Report::finish`].
//!
//! Text is set in the standard Type1 fonts Helvetica and Helvetica-Bold
//! with WinAnsiEncoding: every reader has their metrics, so no font file is
//! embedded and text maps back to Unicode without a ToUnicode CMap. The
//! price is the character set: characters WinAnsi lacks get a stand-in
//! (see [`win_ansi`]) rather than an error, so no input text can make a
//! report fail.
//!
//! The lower-level pieces (font metrics, WinAnsi encoding, literal-string
//! escaping, word wrap and assembling pages into a file) are public too:
//! the repo's other PDF writers (the documents library's test fixtures)
//! share them instead of keeping copies.

#![deny(missing_docs)]

mod canvas;
mod chart;
mod encoding;
mod fonts;
mod report;
mod table;
mod wrap;
mod writer;

pub use encoding::{encode_win_ansi, escape_literal, win_ansi};
pub use fonts::Face;
pub use report::Report;
pub use wrap::{truncate, wrap, LongWords};
pub use writer::{info_string, show_text, write_pdf, PAGE_HEIGHT, PAGE_WIDTH};
