//! Horizontal bar charts of percentages.
//!
//! A chart in an evidence pack must survive being searched and copied, not
//! only looked at: each bar's label and its figure ("87%") are text, and
//! the bar is decoration around them. One bar per line, label left, bar in
//! the middle, figure right-aligned at the margin.

use crate::canvas::Rgb;
use crate::fonts::Face;
use crate::report::{Report, BODY_LEADING, BODY_SIZE, COLUMN, LEFT, RIGHT};
use crate::wrap::{truncate, wrap, LongWords};

const LABEL_SIZE: f64 = 9.0;
/// Height of one bar's line.
const ROW_HEIGHT: f64 = 16.0;
const BAR_HEIGHT: f64 = 10.0;
/// The label's share of the column.
const LABEL_SHARE: f64 = 0.35;
/// Room for the widest figure, "100%", at the right.
const FIGURE_WIDTH: f64 = 36.0;
const GAP: f64 = 8.0;
const TRACK: Rgb = Rgb(0.92, 0.92, 0.92);
const GREEN: Rgb = Rgb(0.22, 0.62, 0.33);
const AMBER: Rgb = Rgb(0.95, 0.66, 0.12);
const RED: Rgb = Rgb(0.82, 0.22, 0.20);
const CHART_GAP: f64 = 10.0;

/// A bar's value made safe to draw: clamped to 0..=100, NaN as 0.
fn percent(value: f64) -> f64 {
    if value.is_nan() {
        0.0
    } else {
        value.clamp(0.0, 100.0)
    }
}

/// Traffic-light colour of a (clamped) value: 90 and up green, 70 and up
/// amber, below that red. Judged on the value itself, not the rounded
/// figure, so 89.6 is amber although it prints as "90%".
fn colour(value: f64) -> Rgb {
    if value >= 90.0 {
        GREEN
    } else if value >= 70.0 {
        AMBER
    } else {
        RED
    }
}

/// The figure printed for a (clamped) value: whole percent.
fn figure(value: f64) -> String {
    format!("{}%", value.round() as u32)
}

impl Report {
    /// Adds a horizontal bar chart under a bold `caption`. Each bar is
    /// (label, value in percent): values are clamped to 0..=100 and NaN
    /// counts as 0. The label is truncated with "..." to fit the left
    /// third, and the rounded figure ("87%") is printed as text at the
    /// right so it can be searched and copied. A bar is green from 90,
    /// amber from 70 and red below. The caption stays with the first bars;
    /// a long chart continues on the next page.
    pub fn bar_chart(&mut self, caption: &str, bars: &[(String, f64)]) {
        let caption = wrap(caption, Face::Bold, BODY_SIZE, COLUMN, LongWords::Break);
        let caption_height = caption.len() as f64 * BODY_LEADING + 4.0;
        self.ensure(caption_height + bars.len().min(2) as f64 * ROW_HEIGHT);
        for line in &caption {
            self.ensure(BODY_LEADING);
            self.page
                .text(Face::Bold, BODY_SIZE, LEFT, self.y - BODY_SIZE, line);
            self.y -= BODY_LEADING;
            self.fresh = false;
        }
        if !caption.is_empty() {
            self.y -= 4.0;
        }
        let label_width = COLUMN * LABEL_SHARE;
        let bar_left = LEFT + label_width + GAP;
        let bar_width = RIGHT - FIGURE_WIDTH - GAP - bar_left;
        for (label, value) in bars {
            self.ensure(ROW_HEIGHT);
            let value = percent(*value);
            let top = self.y;
            let baseline = top - 12.0;
            let label = truncate(label, Face::Regular, LABEL_SIZE, label_width);
            self.page
                .text(Face::Regular, LABEL_SIZE, LEFT, baseline, &label);
            let bar_bottom = top - 13.5;
            self.page
                .fill_rect((bar_left, bar_bottom, bar_width, BAR_HEIGHT), TRACK);
            if value > 0.0 {
                let filled = bar_width * value / 100.0;
                self.page
                    .fill_rect((bar_left, bar_bottom, filled, BAR_HEIGHT), colour(value));
            }
            let figure = figure(value).into_bytes();
            let figure_x = RIGHT - Face::Regular.width(&figure, LABEL_SIZE);
            self.page
                .text(Face::Regular, LABEL_SIZE, figure_x, baseline, &figure);
            self.y -= ROW_HEIGHT;
            self.fresh = false;
        }
        self.y -= CHART_GAP;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_clamped_and_nan_is_zero() {
        assert_eq!(percent(f64::NAN), 0.0);
        assert_eq!(percent(-5.0), 0.0);
        assert_eq!(percent(250.0), 100.0);
        assert_eq!(percent(f64::INFINITY), 100.0);
        assert_eq!(percent(f64::NEG_INFINITY), 0.0);
        assert_eq!(percent(42.5), 42.5);
    }

    #[test]
    fn figures_are_rounded_whole_percent() {
        assert_eq!(figure(86.6), "87%");
        assert_eq!(figure(0.0), "0%");
        assert_eq!(figure(100.0), "100%");
        assert_eq!(figure(99.4), "99%");
    }

    #[test]
    fn colours_follow_the_thresholds() {
        assert_eq!(colour(100.0), GREEN);
        assert_eq!(colour(90.0), GREEN);
        assert_eq!(colour(89.9), AMBER);
        assert_eq!(colour(70.0), AMBER);
        assert_eq!(colour(69.9), RED);
        assert_eq!(colour(0.0), RED);
    }

    #[test]
    fn bars_are_drawn_in_their_colour_and_length() {
        let mut r = Report::new("");
        let bars = [
            ("a".to_string(), 95.0),
            ("b".to_string(), 75.0),
            ("c".to_string(), 10.0),
        ];
        r.bar_chart("", &bars);
        let ops = r.page.ops();
        let fill = |Rgb(red, g, b): Rgb| format!("{red:.3} {g:.3} {b:.3} rg");
        for c in [GREEN, AMBER, RED, TRACK] {
            assert!(ops.contains(&fill(c)), "{c:?} missing:\n{ops}");
        }
        // Green comes first, as the bars do.
        let at = |c| ops.find(&fill(c)).unwrap_or(usize::MAX);
        assert!(at(GREEN) < at(AMBER) && at(AMBER) < at(RED));
        // A zero bar has a track but no fill.
        let mut r = Report::new("");
        r.bar_chart("", &[("z".to_string(), 0.0)]);
        assert_eq!(r.page.ops().matches(" re f").count(), 1);
        // The filled length is the value's share of the track.
        let track = RIGHT - FIGURE_WIDTH - GAP - (LEFT + COLUMN * LABEL_SHARE + GAP);
        let mut r = Report::new("");
        r.bar_chart("", &[("h".to_string(), 50.0)]);
        assert!(
            r.page
                .ops()
                .contains(&format!(" {:.2} {BAR_HEIGHT:.2} re f", track / 2.0)),
            "{}",
            r.page.ops()
        );
    }

    #[test]
    fn the_widest_figure_fits_its_room() {
        assert!(Face::Regular.width(b"100%", LABEL_SIZE) <= FIGURE_WIDTH);
    }
}
