//! The report: a flow of blocks down A4 pages.
//!
//! Blocks are laid out top to bottom in one column as they are added; a
//! block that does not fit on the current page continues on a new one. The
//! rules that make a printed report readable live here and in the table
//! and chart modules: a heading is never the last thing on a page, a table
//! row is never cut in two, and every page says which page it is.

use crate::canvas::Canvas;
use crate::fonts::Face;
use crate::wrap::{truncate, wrap, wrap_lines, LongWords};
use crate::writer::{write_pdf, PAGE_HEIGHT, PAGE_WIDTH};

/// Page margin on all four sides, in points.
pub(crate) const MARGIN: f64 = 50.0;
/// Left edge of the text column.
pub(crate) const LEFT: f64 = MARGIN;
/// Right edge of the text column: no text is drawn past it.
pub(crate) const RIGHT: f64 = PAGE_WIDTH - MARGIN;
/// Width of the text column.
pub(crate) const COLUMN: f64 = RIGHT - LEFT;
/// Top of the first line box on a page.
pub(crate) const TOP: f64 = PAGE_HEIGHT - MARGIN;
/// Nothing but the footer goes below this.
pub(crate) const BOTTOM: f64 = MARGIN;
/// Height a block has on an otherwise empty page.
pub(crate) const USABLE: f64 = TOP - BOTTOM;

const TITLE_SIZE: f64 = 20.0;
const TITLE_LEADING: f64 = 24.0;
pub(crate) const BODY_SIZE: f64 = 10.0;
/// Under 1.5 × [`BODY_SIZE`], so extractors keep wrapped lines of one
/// paragraph together.
pub(crate) const BODY_LEADING: f64 = 13.0;
/// Space after a paragraph: with the leading, over 1.5 × the font size,
/// so extractors see a paragraph break.
const PARA_GAP: f64 = 6.0;
const HEADING_AFTER: f64 = 4.0;
/// Room a heading needs below it on its page: about three lines of body
/// text (or a table's header and first row), so it is never left alone at
/// the bottom of a page.
const KEEP_WITH_NEXT: f64 = 3.0 * BODY_LEADING;
const FOOTER_SIZE: f64 = 8.0;
/// Footer baseline, inside the bottom margin.
const FOOTER_Y: f64 = 28.0;
const FOOTER_GREY: f64 = 0.45;

/// A report being built: A4 portrait, 50pt margins, text in Helvetica.
///
/// Add blocks in reading order, then call [`Report::finish`] for the PDF
/// bytes. No input can make it fail or panic: characters the standard
/// fonts lack get a stand-in (see [`crate::win_ansi`]), words too long for
/// their column are broken, and anything too tall for the page continues
/// on the next.
#[derive(Debug)]
pub struct Report {
    pub(crate) title: String,
    /// Finished pages.
    pub(crate) done: Vec<Canvas>,
    /// The page being filled.
    pub(crate) page: Canvas,
    /// Top of the next line box on the current page (PDF coordinates,
    /// origin bottom left, so it only goes down).
    pub(crate) y: f64,
    /// Nothing has been drawn on the current page yet, so moving to a new
    /// page would gain no room.
    pub(crate) fresh: bool,
}

impl Report {
    /// Starts a report. `title` becomes the PDF's document title (what a
    /// viewer's window and a search index show), is drawn large at the top
    /// of page 1, and is repeated in every page's footer so a loose
    /// printed page can be traced to its report.
    pub fn new(title: &str) -> Report {
        let mut report = Report {
            title: title.to_owned(),
            done: Vec::new(),
            page: Canvas::default(),
            y: TOP,
            fresh: true,
        };
        let lines = wrap(title, Face::Bold, TITLE_SIZE, COLUMN, LongWords::Break);
        if !lines.is_empty() {
            for line in &lines {
                report.ensure(TITLE_LEADING);
                report.line(Face::Bold, TITLE_SIZE, TITLE_LEADING, line);
            }
            report.y -= 4.0;
            report.page.rule(LEFT, RIGHT, report.y);
            report.y -= 14.0;
        }
        report
    }

    /// Adds a heading. `level` 1 to 3 (0 counts as 1, above 3 as 3) sets
    /// the size: 16, 13 or 11 points, bold. If what follows could not start
    /// on the same page, the heading moves to the next page with it, so a
    /// heading is never left alone at the bottom of a page.
    pub fn heading(&mut self, level: u8, text: &str) {
        let size = match level {
            0 | 1 => 16.0,
            2 => 13.0,
            _ => 11.0,
        };
        let leading = size * 1.25;
        let lines = wrap(text, Face::Bold, size, COLUMN, LongWords::Break);
        if lines.is_empty() {
            return;
        }
        let before = if self.fresh { 0.0 } else { size * 0.8 };
        let height = before + lines.len() as f64 * leading + HEADING_AFTER + KEEP_WITH_NEXT;
        if self.fits(height) || self.fresh {
            self.y -= before;
        } else {
            self.new_page();
        }
        for line in &lines {
            self.ensure(leading);
            self.line(Face::Bold, size, leading, line);
        }
        self.y -= HEADING_AFTER;
    }

    /// Adds a paragraph of 10pt text wrapped to the column. A `'\n'` starts
    /// a new line (an empty line leaves a gap); other whitespace runs are
    /// single spaces. A paragraph may continue on the next page. Text with
    /// nothing but whitespace adds nothing.
    pub fn paragraph(&mut self, text: &str) {
        if text.trim().is_empty() {
            return;
        }
        for line in wrap_lines(text, Face::Regular, BODY_SIZE, COLUMN) {
            self.ensure(BODY_LEADING);
            self.line(Face::Regular, BODY_SIZE, BODY_LEADING, &line);
        }
        self.y -= PARA_GAP;
    }

    /// Starts a new page for what follows. Does nothing on a page that is
    /// still empty, so a break after a block that just filled a page does
    /// not leave a blank page.
    pub fn page_break(&mut self) {
        if !self.fresh {
            self.new_page();
        }
    }

    /// Finishes the report: adds the footer (the title on the left, "Page N
    /// of M" on the right, small and grey) to every page and returns the
    /// PDF file's bytes. A report with nothing added is one page.
    pub fn finish(self) -> Vec<u8> {
        let mut pages = self.done;
        pages.push(self.page);
        let total = pages.len();
        let mut streams = Vec::with_capacity(total);
        for (i, mut page) in pages.into_iter().enumerate() {
            let label = format!("Page {} of {}", i + 1, total).into_bytes();
            let label_width = Face::Regular.width(&label, FOOTER_SIZE);
            page.grey_text(
                FOOTER_GREY,
                Face::Regular,
                FOOTER_SIZE,
                RIGHT - label_width,
                FOOTER_Y,
                &label,
            );
            let room = COLUMN - label_width - 24.0;
            let title = truncate(&self.title, Face::Regular, FOOTER_SIZE, room);
            page.grey_text(
                FOOTER_GREY,
                Face::Regular,
                FOOTER_SIZE,
                LEFT,
                FOOTER_Y,
                &title,
            );
            streams.push(page.into_bytes());
        }
        write_pdf(streams, &self.title, "crm-report-pdf")
    }

    /// Whether a block `height` points tall fits between the cursor and the
    /// bottom margin.
    pub(crate) fn fits(&self, height: f64) -> bool {
        self.y - height >= BOTTOM - 1e-6
    }

    /// Moves to a new page unless `height` fits here. On an empty page it
    /// stays put: a new page would be no taller, and moving on would only
    /// leave a blank page behind.
    pub(crate) fn ensure(&mut self, height: f64) {
        if !self.fits(height) && !self.fresh {
            self.new_page();
        }
    }

    /// Closes the current page and starts an empty one.
    pub(crate) fn new_page(&mut self) {
        self.done.push(std::mem::take(&mut self.page));
        self.y = TOP;
        self.fresh = true;
    }

    /// Draws one line of text at the left of the column, its baseline one
    /// font size below the cursor, and moves the cursor down by `leading`.
    fn line(&mut self, face: Face, size: f64, leading: f64, text: &[u8]) {
        self.page.text(face, size, LEFT, self.y - size, text);
        self.y -= leading;
        self.fresh = false;
    }

    /// Number of pages so far, the current one included.
    #[cfg(test)]
    pub(crate) fn page_count(&self) -> usize {
        self.done.len() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heading_near_the_bottom_moves_to_the_next_page() {
        let mut r = Report::new("T");
        // Fill the page until only a little room is left.
        while r.fits(KEEP_WITH_NEXT + 30.0) {
            r.paragraph("filler");
        }
        assert_eq!(r.page_count(), 1);
        // The heading itself would fit, but not with what follows it.
        assert!(r.fits(16.0 * 1.25));
        r.heading(1, "Section");
        assert_eq!(r.page_count(), 2);
        assert!((r.y - (TOP - 20.0 - HEADING_AFTER)).abs() < 1e-9, "{}", r.y);
    }

    #[test]
    fn a_heading_with_room_stays_on_its_page() {
        let mut r = Report::new("T");
        r.paragraph("text");
        let before = r.y;
        r.heading(2, "Section");
        assert_eq!(r.page_count(), 1);
        assert!(r.y < before - 13.0);
    }

    #[test]
    fn page_break_on_an_empty_page_adds_no_page() {
        let mut r = Report::new("");
        assert!(r.fresh);
        r.page_break();
        assert_eq!(r.page_count(), 1);
        r.paragraph("x");
        r.page_break();
        r.page_break();
        assert_eq!(r.page_count(), 2);
    }

    #[test]
    fn blank_blocks_add_nothing() {
        let mut r = Report::new("  ");
        r.paragraph(" \n\t ");
        r.heading(1, "");
        assert!(r.fresh);
        assert_eq!(r.y, TOP);
    }

    #[test]
    fn a_long_paragraph_flows_onto_more_pages_within_the_margins() {
        let mut r = Report::new("T");
        r.paragraph(&"lorem ipsum dolor ".repeat(2000));
        assert!(r.page_count() >= 4, "{}", r.page_count());
        assert!(r.y >= BOTTOM);
    }
}
