//! Tables: a bold header row, wrapped cells, thin grid lines.
//!
//! Evidence tables run to hundreds of rows, so a table is built to cross
//! pages well: a row is never cut in two (unless it is taller than a whole
//! page, when there is no other way), and a table continued on a new page
//! starts with its header row again, so every page can be read alone.

use crate::canvas::{Rect, Rgb};
use crate::fonts::Face;
use crate::report::{Report, COLUMN, LEFT, USABLE};
use crate::wrap::wrap_lines;

const CELL_SIZE: f64 = 9.0;
const CELL_LEADING: f64 = 11.0;
const PAD_X: f64 = 4.0;
const PAD_Y: f64 = 3.0;
/// The first baseline sits this far below the top padding: the leading
/// less roughly the descender, which centres a line in its box.
const BASELINE_DROP: f64 = CELL_LEADING - 1.5;
const HEADER_FILL: Rgb = Rgb(0.88, 0.88, 0.88);
const TABLE_GAP: f64 = 10.0;

/// Where the columns are: left edge and width of each, in points.
struct Columns {
    x: Vec<f64>,
    width: Vec<f64>,
}

impl Columns {
    /// `n` columns from the caller's fractions. Fractions are scaled to
    /// fill the column exactly, so ones that sum to 0.98 or 1.02 still
    /// line up with the margins; a missing, zero, negative or non-finite
    /// fraction counts as an equal share (1 / `n`).
    fn new(n: usize, fractions: &[f64]) -> Columns {
        let share = 1.0 / n as f64;
        let raw: Vec<f64> = (0..n)
            .map(|i| {
                fractions
                    .get(i)
                    .copied()
                    .filter(|f| f.is_finite() && *f > 0.0)
                    .unwrap_or(share)
            })
            .collect();
        let total: f64 = raw.iter().sum();
        let width: Vec<f64> = raw.iter().map(|f| f / total * COLUMN).collect();
        let mut x = Vec::with_capacity(n);
        let mut left = LEFT;
        for w in &width {
            x.push(left);
            left += w;
        }
        Columns { x, width }
    }
}

/// One row, its cells already wrapped to their columns.
struct Row {
    /// Per cell, its lines as WinAnsi bytes (at least one, maybe empty).
    cells: Vec<Vec<Vec<u8>>>,
    /// Lines in the tallest cell: the row's height in lines.
    lines: usize,
    header: bool,
}

impl Row {
    fn new<S: AsRef<str>>(texts: &[S], columns: &Columns, header: bool) -> Row {
        let face = if header { Face::Bold } else { Face::Regular };
        let cells: Vec<Vec<Vec<u8>>> = columns
            .width
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let text = texts.get(i).map_or("", AsRef::as_ref);
                wrap_lines(text, face, CELL_SIZE, (w - 2.0 * PAD_X).max(1.0))
            })
            .collect();
        let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
        Row {
            cells,
            lines,
            header,
        }
    }

    fn height(&self) -> f64 {
        height_of(self.lines)
    }
}

/// Height of a row part `lines` lines tall.
fn height_of(lines: usize) -> f64 {
    2.0 * PAD_Y + lines as f64 * CELL_LEADING
}

impl Report {
    /// Adds a table. `widths` are the columns' shares of the column width
    /// (summing to about 1; they are scaled to fill it exactly, and a
    /// missing or invalid share counts as an equal one). The header row is
    /// bold on a light grey fill; cells are 9pt, wrap inside their width
    /// and may hold `'\n'`. The table has as many columns as the longest
    /// of `headers` and the rows; short rows get empty cells. An empty
    /// `headers` gives a table without a header row.
    ///
    /// A row never splits across pages, unless it alone is taller than a
    /// page; a table that continues on a new page repeats its header row
    /// there first.
    pub fn table(&mut self, headers: &[&str], widths: &[f64], rows: &[Vec<String>]) {
        let n = rows
            .iter()
            .map(Vec::len)
            .max()
            .unwrap_or(0)
            .max(headers.len());
        if n == 0 {
            return;
        }
        let columns = Columns::new(n, widths);
        let header = (!headers.is_empty()).then(|| Row::new(headers, &columns, true));
        // A header taller than a third of a page is not worth repeating on
        // every page (and repeating it could leave no room for rows).
        let repeat = header.as_ref().filter(|h| h.height() <= USABLE / 3.0);
        if let Some(h) = &header {
            // Keep the header with the first row.
            let first = rows
                .first()
                .map_or(0.0, |r| Row::new(r, &columns, false).height());
            self.ensure((h.height() + first).min(USABLE));
            self.place_row(h, &columns, None);
        }
        for cells in rows {
            let row = Row::new(cells, &columns, false);
            self.place_row(&row, &columns, repeat);
        }
        self.y -= TABLE_GAP;
    }

    /// Draws `row` where it fits, starting a new page (with the `repeat`
    /// header row at its top) if it does not fit here. A row taller than a
    /// new page could hold is drawn in parts, as much as fits per page.
    fn place_row(&mut self, row: &Row, columns: &Columns, repeat: Option<&Row>) {
        let capacity = USABLE - repeat.map_or(0.0, Row::height);
        let mut start = 0;
        loop {
            let remaining = row.lines - start;
            if self.fits(height_of(remaining)) {
                self.draw_row(row, columns, start, remaining);
                return;
            }
            if height_of(remaining) <= capacity {
                self.continue_table(columns, repeat);
                continue;
            }
            // Taller than any page: fill this one and go on. On a page just
            // begun at least one line fits (`capacity` is at least two
            // thirds of a page), so this always makes progress.
            let room = self.y - crate::report::BOTTOM - 2.0 * PAD_Y;
            let count = ((room / CELL_LEADING).floor().max(0.0) as usize).min(remaining);
            if count > 0 {
                self.draw_row(row, columns, start, count);
                start += count;
            }
            self.continue_table(columns, repeat);
        }
    }

    /// Starts a new page for the rest of a table, header row first.
    fn continue_table(&mut self, columns: &Columns, repeat: Option<&Row>) {
        self.new_page();
        if let Some(header) = repeat {
            self.draw_row(header, columns, 0, header.lines);
        }
    }

    /// Draws lines `start..start + count` of `row` at the cursor, with
    /// their grid, and moves the cursor below them.
    fn draw_row(&mut self, row: &Row, columns: &Columns, start: usize, count: usize) {
        let top = self.y;
        let height = height_of(count);
        let bottom = top - height;
        if row.header {
            self.page
                .fill_rect((LEFT, bottom, COLUMN, height), HEADER_FILL);
        }
        let face = if row.header {
            Face::Bold
        } else {
            Face::Regular
        };
        let mut grid: Vec<Rect> = Vec::with_capacity(row.cells.len());
        for (i, lines) in row.cells.iter().enumerate() {
            let (x, w) = (columns.x[i], columns.width[i]);
            for (k, line) in lines.iter().skip(start).take(count).enumerate() {
                let baseline = top - PAD_Y - BASELINE_DROP - k as f64 * CELL_LEADING;
                self.page.text(face, CELL_SIZE, x + PAD_X, baseline, line);
            }
            grid.push((x, bottom, w, height));
        }
        self.page.grid(&grid);
        self.y = bottom;
        self.fresh = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{BOTTOM, RIGHT, TOP};

    fn rows(n: usize, lines_per_cell: usize) -> Vec<Vec<String>> {
        (0..n)
            .map(|i| {
                let cell = vec![format!("r{i}"); lines_per_cell].join("\n");
                vec![cell.clone(), cell]
            })
            .collect()
    }

    #[test]
    fn fractions_are_scaled_to_the_column_and_bad_ones_share_equally() {
        let c = Columns::new(3, &[0.5, 0.3, 0.3]);
        let total: f64 = c.width.iter().sum();
        assert!((total - COLUMN).abs() < 1e-9);
        assert!((c.x[0] - LEFT).abs() < 1e-9);
        assert!((c.x[2] + c.width[2] - RIGHT).abs() < 1e-9);
        assert!(c.width[0] > c.width[1]);

        let c = Columns::new(4, &[f64::NAN, -1.0]);
        for w in &c.width {
            assert!((w - COLUMN / 4.0).abs() < 1e-9, "{w}");
        }
    }

    #[test]
    fn rows_never_split_and_the_cursor_stays_above_the_margin() {
        let mut r = Report::new("T");
        r.paragraph("intro");
        // Three-line rows: 39pt each, which do not divide the page evenly.
        r.table(&["A", "B"], &[0.5, 0.5], &rows(100, 3));
        assert!(r.page_count() > 3);
        assert!(r.y >= BOTTOM - TABLE_GAP);
    }

    #[test]
    fn a_row_taller_than_a_page_is_drawn_in_parts() {
        let mut r = Report::new("T");
        let tall = vec![vec!["line\n".repeat(200), "x".into()]];
        r.table(&["A", "B"], &[0.5, 0.5], &tall);
        // 200 lines of 11pt need three pages' worth of column.
        assert!(r.page_count() >= 3, "{}", r.page_count());
    }

    #[test]
    fn a_huge_header_is_not_repeated_and_does_not_hang() {
        let mut r = Report::new("T");
        let header = "h\n".repeat(60);
        r.table(&[&header], &[1.0], &rows(200, 1));
        assert!(r.page_count() >= 3);
    }

    #[test]
    fn the_header_moves_with_the_first_row() {
        let mut r = Report::new("");
        r.paragraph("filler");
        // Room for the header (17pt) but not for it and the first row.
        r.y = BOTTOM + 25.0;
        r.table(&["A"], &[1.0], &rows(1, 1));
        assert_eq!(r.page_count(), 2);
        // The header (the only bold text) is not left behind on page 1.
        assert!(!r.done[0].ops().contains("/F2"), "{}", r.done[0].ops());
        assert_eq!(r.page.ops().matches("/F2").count(), 1);
        assert!((r.y - (TOP - 2.0 * height_of(1) - TABLE_GAP)).abs() < 1e-9);
    }

    #[test]
    fn nothing_to_show_adds_nothing() {
        let mut r = Report::new("");
        r.table(&[], &[], &[]);
        r.table(&[], &[0.5], &[Vec::new(), Vec::new()]);
        assert!(r.fresh);
    }
}
