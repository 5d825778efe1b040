//! Reports read back the way their readers will read them: as text, with
//! `pdftotext` (Poppler), in layout mode and in plain reading order, and as
//! PDF objects with lopdf for page counts and where text was drawn.

use crm_report_pdf::{Face, Report};
use lopdf::content::Content;
use lopdf::{Document, Object};
use std::io::Write as _;
use std::process::Command;

/// A4 less the 50pt margins.
const LEFT: f64 = 50.0;
const RIGHT: f64 = 545.0;
const BOTTOM: f64 = 50.0;
const FOOTER_SIZE: f64 = 8.0;

/// The text `pdftotext` reads from `pdf`; pages end with a form feed.
fn pdftotext(pdf: &[u8], layout: bool) -> String {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(pdf).unwrap();
    file.flush().unwrap();
    let mut cmd = Command::new("pdftotext");
    if layout {
        cmd.arg("-layout");
    }
    let out = cmd
        .args(["-enc", "UTF-8"])
        .arg(file.path())
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) must be installed for these tests");
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `pdftotext`'s text split into pages.
fn text_pages(pdf: &[u8], layout: bool) -> Vec<String> {
    let text = pdftotext(pdf, layout);
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_owned).collect();
    // Every page ends with a form feed, so the last piece is empty.
    assert_eq!(pages.pop().as_deref(), Some(""), "{text:?}");
    pages
}

fn page_count(pdf: &[u8]) -> usize {
    Document::load_mem(pdf).unwrap().get_pages().len()
}

/// Whitespace runs collapsed to single spaces.
fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One `Tj` as drawn: page (1-based), face, size, start of the baseline,
/// and the WinAnsi bytes.
#[derive(Debug)]
struct Run {
    page: u32,
    face: Face,
    size: f64,
    x: f64,
    y: f64,
    text: Vec<u8>,
}

impl Run {
    fn right(&self) -> f64 {
        self.x + self.face.width(&self.text, self.size)
    }
}

fn number(o: &Object) -> f64 {
    f64::from(o.as_float().unwrap())
}

/// Every text run of every page, from the content streams.
fn runs(pdf: &[u8]) -> Vec<Run> {
    let doc = Document::load_mem(pdf).unwrap();
    let mut out = Vec::new();
    for (page, id) in doc.get_pages() {
        let content = Content::decode(&doc.get_page_content(id).unwrap()).unwrap();
        let (mut face, mut size, mut x, mut y) = (Face::Regular, 0.0, 0.0, 0.0);
        for op in content.operations {
            match op.operator.as_str() {
                "Tf" => {
                    face = match op.operands[0].as_name().unwrap() {
                        b"F1" => Face::Regular,
                        b"F2" => Face::Bold,
                        other => panic!("unknown font {other:?}"),
                    };
                    size = number(&op.operands[1]);
                }
                "Td" => {
                    x = number(&op.operands[0]);
                    y = number(&op.operands[1]);
                }
                "Tj" => {
                    let text = op.operands[0].as_str().unwrap().to_vec();
                    out.push(Run {
                        page,
                        face,
                        size,
                        x,
                        y,
                        text,
                    });
                }
                "TJ" | "'" | "\"" | "Tm" | "TD" | "T*" => panic!("unexpected {}", op.operator),
                _ => {}
            }
        }
    }
    out
}

fn cell(row: usize, col: usize) -> String {
    format!("R{row:03}C{col}")
}

/// `n` rows of six cells; the third column holds a sentence long enough
/// to wrap in its narrow column.
fn table_rows(n: usize) -> Vec<Vec<String>> {
    (0..n)
        .map(|r| {
            (0..6)
                .map(|c| {
                    if c == 2 {
                        format!(
                            "{} observed during the morning medication round",
                            cell(r, c)
                        )
                    } else {
                        cell(r, c)
                    }
                })
                .collect()
        })
        .collect()
}

const HEADERS: [&str; 6] = ["Resident", "Room", "Finding", "Owner", "Due", "Status"];
const WIDTHS: [f64; 6] = [0.2, 0.1, 0.3, 0.15, 0.12, 0.13];

#[test]
fn title_headings_and_paragraphs_read_back() {
    let mut r = Report::new("Evidence Pack: Rose House");
    r.heading(1, "Safe care and treatment");
    r.paragraph("The service completed every medication audit on time this quarter.");
    r.heading(2, "Medication audits");
    r.paragraph("First line of the note\nSecond line of the note");
    r.heading(3, "Follow-up actions");
    r.paragraph("Nothing outstanding.");
    let pdf = r.finish();
    assert_eq!(page_count(&pdf), 1);

    let plain = pdftotext(&pdf, false);
    for want in [
        "Evidence Pack: Rose House",
        "Safe care and treatment",
        "Medication audits",
        "Follow-up actions",
        "The service completed every medication audit on time this quarter.",
        "Nothing outstanding.",
    ] {
        assert!(plain.contains(want), "{want:?} missing from\n{plain}");
    }
    // '\n' starts a new line.
    assert!(
        plain.contains("First line of the note\nSecond line of the note"),
        "{plain}"
    );
    // Reading order is the order the blocks were added.
    let at = |s: &str| plain.find(s).unwrap();
    assert!(at("Evidence Pack") < at("Safe care"));
    assert!(at("Safe care") < at("Medication audits"));
    assert!(at("Medication audits") < at("Follow-up"));

    // The title is the largest text, and also the document's title.
    let runs = runs(&pdf);
    let title = runs
        .iter()
        .find(|r| r.text == b"Evidence Pack: Rose House")
        .unwrap();
    assert!(runs.iter().all(|r| r.size <= title.size));
    assert_eq!(title.face, Face::Bold);
    let heading = |t: &[u8]| runs.iter().find(|r| r.text == t).unwrap().size;
    assert!(heading(b"Safe care and treatment") > heading(b"Medication audits"));
    assert!(heading(b"Medication audits") > heading(b"Follow-up actions"));
    let doc = Document::load_mem(&pdf).unwrap();
    let info = doc.trailer.get(b"Info").unwrap().as_reference().unwrap();
    let info = doc.get_dictionary(info).unwrap();
    assert_eq!(
        info.get(b"Title").unwrap().as_str().unwrap(),
        b"Evidence Pack: Rose House"
    );
}

#[test]
fn every_cell_of_a_multi_page_table_reads_back() {
    let mut r = Report::new("Actions");
    r.paragraph("Open actions from the last inspection.");
    let rows = table_rows(200);
    r.table(&HEADERS, &WIDTHS, &rows);
    r.paragraph("End of actions.");
    let pdf = r.finish();
    let pages = page_count(&pdf);
    assert!(pages >= 4, "{pages} pages");

    for layout in [true, false] {
        let text = pdftotext(&pdf, layout);
        assert_eq!(text.matches('\u{c}').count(), pages);
        for (i, row) in rows.iter().enumerate() {
            for c in 0..6 {
                assert!(text.contains(&cell(i, c)), "{} missing", cell(i, c));
            }
            // The wrapped cell comes back whole in reading order.
            if !layout {
                assert!(normalise(&text).contains(&row[2]), "{}", row[2]);
            }
        }
        assert!(text.contains("End of actions."));
    }
    // In layout mode a row's short cells share one line, in column order.
    let layout = pdftotext(&pdf, true);
    let line = layout.lines().find(|l| l.contains(&cell(123, 0))).unwrap();
    let cols: Vec<usize> = [0, 1, 3, 4, 5]
        .iter()
        .map(|&c| line.find(&cell(123, c)).unwrap_or_else(|| panic!("{line}")))
        .collect();
    assert!(cols.windows(2).all(|w| w[0] < w[1]), "{line}");
}

#[test]
fn the_header_row_repeats_on_continued_pages() {
    let mut r = Report::new("Actions");
    r.table(&HEADERS, &WIDTHS, &table_rows(200));
    let pdf = r.finish();
    let pages = text_pages(&pdf, true);
    assert!(pages.len() >= 3);
    for (i, page) in pages.iter().enumerate() {
        // Every page holding rows starts its table with the header row.
        let first_row = page
            .match_indices('R')
            .map(|(at, _)| at)
            .find(|&at| page[at + 1..].starts_with(|c: char| c.is_ascii_digit()))
            .unwrap_or_else(|| panic!("page {} has no rows:\n{page}", i + 1));
        let header = page
            .find("Resident")
            .unwrap_or_else(|| panic!("page {} has no header row:\n{page}", i + 1));
        assert!(header < first_row, "page {}", i + 1);
        let header_line = page[header..].lines().next().unwrap();
        for h in HEADERS {
            assert!(header_line.contains(h), "page {}: {header_line}", i + 1);
        }
        assert_eq!(page.matches("Resident").count(), 1, "page {}", i + 1);
    }
    // The header is bold, the cells are not.
    let runs = runs(&pdf);
    let header_runs: Vec<_> = runs.iter().filter(|r| r.text == b"Resident").collect();
    assert_eq!(header_runs.len(), pages.len());
    assert!(header_runs.iter().all(|r| r.face == Face::Bold));
    assert!(runs
        .iter()
        .filter(|r| r.text.starts_with(b"R0"))
        .all(|r| r.face == Face::Regular));
}

#[test]
fn a_row_never_splits_across_pages() {
    // Rows of three lines each; the page height is no multiple of theirs,
    // so some row would be cut if rows were allowed to split.
    let rows: Vec<Vec<String>> = (0..150)
        .map(|i| vec![format!("row{i}a\nrow{i}b\nrow{i}c"), format!("row{i}x")])
        .collect();
    let mut r = Report::new("Rows");
    r.table(&["Lines", "Other"], &[0.5, 0.5], &rows);
    let pdf = r.finish();
    let pages = text_pages(&pdf, false);
    assert!(pages.len() >= 3);
    for i in 0..150 {
        let on: Vec<usize> = ["a", "b", "c", "x"]
            .iter()
            .map(|s| {
                let word = format!("row{i}{s}");
                let found: Vec<usize> = pages
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.split_whitespace().any(|w| w == word))
                    .map(|(n, _)| n)
                    .collect();
                assert_eq!(found.len(), 1, "{word} on pages {found:?}");
                found[0]
            })
            .collect();
        assert!(on.iter().all(|&p| p == on[0]), "row {i} split: {on:?}");
    }
}

#[test]
fn bar_labels_and_figures_read_back() {
    let bars: Vec<(String, f64)> = vec![
        ("Fire safety".into(), 86.6),
        ("Safeguarding adults".into(), 100.0),
        ("Moving and handling".into(), 0.0),
        ("Infection control".into(), 71.2),
        ("Over the top".into(), 150.0),
        ("Below zero".into(), -3.0),
        ("Not a number".into(), f64::NAN),
        (
            "A training course whose name is far too long to fit beside its bar".into(),
            55.0,
        ),
    ];
    let mut r = Report::new("Training");
    r.bar_chart("Training compliance by course", &bars);
    let pdf = r.finish();
    assert_eq!(page_count(&pdf), 1);

    let layout = pdftotext(&pdf, true);
    let line_of = |label: &str| {
        layout
            .lines()
            .find(|l| l.contains(label))
            .unwrap_or_else(|| panic!("{label:?} missing from\n{layout}"))
            .to_owned()
    };
    assert!(layout.contains("Training compliance by course"));
    for (label, figure) in [
        ("Fire safety", "87%"),
        ("Safeguarding adults", "100%"),
        ("Moving and handling", "0%"),
        ("Infection control", "71%"),
        ("Over the top", "100%"),
        ("Below zero", "0%"),
        ("Not a number", "0%"),
    ] {
        let line = line_of(label);
        // The figure is on the label's line, after it.
        assert!(line.trim_end().ends_with(figure), "{line}");
        assert!(line.find(label) < line.find(figure), "{line}");
    }
    let long = line_of("A training course");
    assert!(long.contains("..."), "{long}");
    assert!(!long.contains("beside its bar"), "{long}");
    assert!(long.trim_end().ends_with("55%"), "{long}");

    let plain = pdftotext(&pdf, false);
    assert!(plain.contains("87%") && plain.contains("Fire safety"));
}

#[test]
fn the_footer_numbers_every_page_and_names_the_report() {
    let mut r = Report::new("Quarterly audit");
    r.paragraph("Opening page.");
    for i in 0..4 {
        r.page_break();
        r.heading(1, &format!("Part {}", i + 2));
    }
    let pdf = r.finish();
    assert_eq!(page_count(&pdf), 5);
    let pages = text_pages(&pdf, true);
    assert_eq!(pages.len(), 5);
    for (i, page) in pages.iter().enumerate() {
        let want = format!("Page {} of 5", i + 1);
        assert!(page.contains(&want), "{want} missing:\n{page}");
        // The title appears in the footer, and at the top of page 1 too.
        let titles = page.matches("Quarterly audit").count();
        assert_eq!(titles, if i == 0 { 2 } else { 1 }, "page {}", i + 1);
    }
    // Small and below the body.
    let footers: Vec<Run> = runs(&pdf)
        .into_iter()
        .filter(|r| r.text.starts_with(b"Page "))
        .collect();
    assert_eq!(footers.len(), 5);
    assert!(footers
        .iter()
        .all(|r| r.size == FOOTER_SIZE && r.y < BOTTOM && (r.right() - RIGHT).abs() < 0.05));
}

#[test]
fn text_outside_win_ansi_does_not_panic_and_latin_1_survives() {
    let odd = "Zoë 😀 – naïve 雪 ≥ 5";
    let mut r = Report::new(odd);
    r.heading(1, odd);
    r.paragraph(odd);
    r.table(
        &[odd, "Plain"],
        &[0.5, 0.5],
        &[vec![odd.into(), "x".into()]],
    );
    r.bar_chart(odd, &[(odd.into(), 12.0)]);
    let pdf = r.finish();
    assert_eq!(page_count(&pdf), 1);
    let plain = pdftotext(&pdf, false);
    // Title, footer, heading, paragraph, header, cell, caption, label: 8.
    assert!(plain.matches("Zoë").count() >= 8, "{plain}");
    assert!(plain.matches("naïve").count() >= 7, "{plain}");
    assert!(plain.contains("Zoë ? – naïve ? >= 5"), "{plain}");
    assert!(!plain.contains('😀'));

    // The document title keeps every character (UTF-16 in the Info
    // dictionary).
    let doc = Document::load_mem(&pdf).unwrap();
    let info = doc.trailer.get(b"Info").unwrap().as_reference().unwrap();
    let title = doc.get_dictionary(info).unwrap().get(b"Title").unwrap();
    let bytes = title.as_str().unwrap();
    assert_eq!(&bytes[..2], &[0xFE, 0xFF]);
    let units: Vec<u16> = bytes[2..]
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    assert_eq!(String::from_utf16(&units).unwrap(), odd);
}

#[test]
fn an_empty_report_is_a_valid_one_page_pdf() {
    let pdf = Report::new("").finish();
    assert!(pdf.starts_with(b"%PDF-1.4"));
    assert_eq!(page_count(&pdf), 1);
    let pages = text_pages(&pdf, false);
    assert_eq!(pages.len(), 1);
    assert_eq!(normalise(&pages[0]), "Page 1 of 1");

    let pdf = Report::new("Nothing to report").finish();
    assert_eq!(page_count(&pdf), 1);
    assert!(pdftotext(&pdf, false).contains("Page 1 of 1"));
}

#[test]
fn long_unbroken_words_are_broken_to_fit_the_column() {
    let word = |c: char| c.to_string().repeat(300);
    let mut r = Report::new(&word('T'));
    r.heading(1, &word('H'));
    r.paragraph(&format!("Before {} after", word('P')));
    r.table(
        &["Reference", "Note"],
        &[0.3, 0.7],
        &[vec![word('X'), word('Y')]],
    );
    r.bar_chart("Chart", &[(word('L'), 50.0)]);
    let pdf = r.finish();

    let runs = runs(&pdf);
    for run in &runs {
        assert!(run.x >= LEFT - 0.01, "{run:?}");
        assert!(
            run.right() <= RIGHT + 0.05,
            "{run:?} ends at {}",
            run.right()
        );
        if run.size != FOOTER_SIZE {
            assert!(run.y >= BOTTOM, "{run:?}");
        }
    }
    // The words were broken, not cut: every letter is drawn.
    let count = |c: u8| -> usize {
        runs.iter()
            .filter(|r| r.size != FOOTER_SIZE)
            .map(|r| r.text.iter().filter(|&&b| b == c).count())
            .sum()
    };
    for c in [b'T', b'H', b'P', b'X', b'Y'] {
        assert_eq!(count(c), 300, "{}", char::from(c));
    }
    // Table cells stay inside their own column, not just the page.
    let note_x = LEFT + 0.3 * (RIGHT - LEFT);
    for run in runs.iter().filter(|r| r.text.contains(&b'X')) {
        assert!(run.right() <= note_x, "{run:?}");
    }
    // The bar label was truncated instead: one short run, with "...".
    let label: Vec<_> = runs.iter().filter(|r| r.text.contains(&b'L')).collect();
    assert_eq!(label.len(), 1);
    assert!(label[0].text.ends_with(b"..."));
    let text = normalise(&pdftotext(&pdf, false));
    assert!(text.contains("Before"), "{text}");
    assert!(text.contains("after"), "{text}");
}

/// Everything stays inside the margins on a large, mixed report.
#[test]
fn nothing_is_drawn_outside_the_margins() {
    let mut r = Report::new("Margins");
    for i in 0..30 {
        r.heading(1 + (i % 3) as u8, &format!("Section {i}"));
        r.paragraph(&"Text that wraps across the column several times. ".repeat(8));
        r.table(&HEADERS, &WIDTHS, &table_rows(7));
        r.bar_chart("Bars", &[("One".into(), 95.0), ("Two".into(), 75.0)]);
    }
    let pdf = r.finish();
    let runs = runs(&pdf);
    let pages = page_count(&pdf);
    assert!(pages > 10);
    for run in &runs {
        assert!(
            run.x >= LEFT - 0.01 && run.right() <= RIGHT + 0.05,
            "{run:?}"
        );
        if run.size == FOOTER_SIZE {
            assert!(run.y < BOTTOM, "{run:?}");
        } else {
            assert!(
                run.y >= BOTTOM && run.y + run.size <= 842.0 - 50.0,
                "{run:?}"
            );
        }
    }
    // No heading is the last text above the footer of its page.
    for page in 1..=u32::try_from(pages).unwrap() {
        let lowest = runs
            .iter()
            .filter(|r| r.page == page && r.size != FOOTER_SIZE)
            .min_by(|a, b| a.y.total_cmp(&b.y))
            .unwrap();
        assert!(
            !lowest.text.starts_with(b"Section"),
            "page {page} ends with {lowest:?}"
        );
    }
}

#[test]
fn a_heading_is_kept_with_the_lines_after_it() {
    // Move the heading down the page a line at a time, past the bottom:
    // wherever it lands, at least three lines follow it on its page.
    for filler in 40..60 {
        let mut r = Report::new("Keep");
        let lines: Vec<String> = (0..filler).map(|i| format!("filler {i}")).collect();
        r.paragraph(&lines.join("\n"));
        r.heading(2, "Kept heading");
        r.paragraph(
            &(0..5)
                .map(|i| format!("after {i}"))
                .collect::<Vec<_>>()
                .join("\n"),
        );
        let pdf = r.finish();
        let runs = runs(&pdf);
        let heading = runs.iter().find(|r| r.text == b"Kept heading").unwrap();
        let below = runs
            .iter()
            .filter(|r| r.page == heading.page && r.size != FOOTER_SIZE && r.y < heading.y)
            .count();
        assert!(
            below >= 3,
            "{filler} filler lines: {below} lines under the heading"
        );
        // And it is not pushed on needlessly: with room, it stays.
        if filler < 45 {
            assert_eq!(heading.page, 1, "{filler} filler lines");
        }
    }
}

#[test]
fn thousands_of_rows_make_many_pages() {
    // Speed is the evidence-pack benchmark's (`make bench-compliance`).
    let rows = table_rows(3000);
    let mut r = Report::new("Big");
    r.table(&HEADERS, &WIDTHS, &rows);
    let pdf = r.finish();
    let pages = page_count(&pdf);
    assert!(pages > 50, "{pages}");
    let text = pdftotext(&pdf, false);
    assert!(text.contains(&cell(2999, 5)));
    assert!(text.contains(&format!("Page {pages} of {pages}")));
}
