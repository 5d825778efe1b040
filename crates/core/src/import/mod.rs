//! Streaming CSV import of contacts.
//!
//! The file is read once, record by record, in constant memory: one thread
//! decodes and validates rows (the costly part: phone parsing), the calling
//! thread writes them through the store's one write path in batches, each
//! batch one transaction. A killed import leaves whole batches; running it
//! again matches every row to what is already there (by email, external id or
//! row fingerprint), so nothing is duplicated.
//!
//! A bad row never stops the import: it is reported with its row number (as a
//! spreadsheet shows it: the header is row 1), column and reason.

pub mod headers;
pub mod sniff;

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::contacts::{Contact, ContactDraft, Written};
use crate::error::{CoreError, Result};
use crate::normalize;
use crate::store::{Actor, Store};

pub use headers::ColumnMapping;
pub use sniff::TextEncoding;

/// How many problems and duplicate pairs a report keeps (the counts go on).
pub const REPORT_CAP: usize = 10_000;

/// Options for one import.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Validate and report, write nothing.
    pub dry_run: bool,
    /// "CSV column" → field pairs that override the automatic mapping.
    pub mappings: Vec<(String, String)>,
    /// Rows per transaction.
    pub batch_size: usize,
}

/// Rows per transaction unless told otherwise. Larger batches write each
/// index page fewer times (measured: 20,000 rows per batch imports 7%
/// faster than 5,000); progress and what other readers see advance a batch
/// at a time (about a second), and a cancel rolls back the open batch only.
pub const DEFAULT_BATCH_SIZE: usize = 20_000;

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            dry_run: false,
            mappings: Vec::new(),
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }
}

/// Progress of a running import.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Data rows handled so far.
    pub rows: u64,
    /// Bytes of the file read so far.
    pub bytes_read: u64,
    /// Size of the file.
    pub total_bytes: u64,
}

/// Lets the caller watch and stop an import.
#[derive(Clone, Default)]
pub struct ImportControl {
    cancel: Arc<AtomicBool>,
}

impl ImportControl {
    /// A fresh control.
    pub fn new() -> Self {
        Self::default()
    }
    /// Ask the import to stop. The batch in flight is rolled back; batches
    /// already committed stay (running the import again continues safely).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }
    /// Whether cancel was asked.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
}

/// A row that was not imported, or a value that was dropped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    /// Row number as a spreadsheet shows it (header = 1).
    pub row: u64,
    /// The column (header text), when one is to blame.
    pub column: Option<String>,
    /// What is wrong and what to do.
    pub reason: String,
}

/// Two contacts that share a phone, or a record id, but have different
/// emails: different people by the import's rule, worth a look.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PossibleDuplicate {
    /// The row that was imported.
    pub row: u64,
    /// The contact it created or updated.
    pub contact_id: Uuid,
    /// The other contact.
    pub other_contact_id: Uuid,
    /// What they share: `phone` or `record id`.
    pub shared: &'static str,
    /// The shared value (a phone in E.164, or the id as the file gave it).
    pub value: String,
}

impl PossibleDuplicate {
    fn describe(&self) -> String {
        format!(
            "contact {} shares {} {} with contact {}",
            self.contact_id, self.shared, self.value, self.other_contact_id
        )
    }
}

/// What an import did (or, in a dry run, would do).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImportReport {
    /// The file.
    pub file: PathBuf,
    /// Detected encoding.
    pub encoding: String,
    /// Detected delimiter.
    pub delimiter: String,
    /// How each column was used.
    pub columns: Vec<ColumnMapping>,
    /// Data rows read (blank rows included).
    pub rows: u64,
    /// New contacts.
    pub created: u64,
    /// Existing contacts changed.
    pub updated: u64,
    /// Existing contacts already up to date.
    pub unchanged: u64,
    /// Rows not imported.
    pub skipped: u64,
    /// Empty rows passed over.
    pub blank: u64,
    /// Why rows were skipped (first [`REPORT_CAP`]).
    pub problems: Vec<RowProblem>,
    /// Pairs to review (first [`REPORT_CAP`]).
    pub possible_duplicates: Vec<PossibleDuplicate>,
    /// Total pairs found.
    pub possible_duplicate_count: u64,
    /// True for a dry run: nothing was written.
    pub dry_run: bool,
    /// True if cancelled: only the counted rows were committed.
    pub cancelled: bool,
}

impl ImportReport {
    fn problem(&mut self, p: RowProblem) {
        if self.problems.len() < REPORT_CAP {
            self.problems.push(p);
        }
    }

    /// Write the problems and possible duplicates as CSV (for a download).
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let io = |source| CoreError::Io {
            path: path.to_path_buf(),
            err: source,
        };
        let file = File::create(path).map_err(io)?;
        let mut w = csv::Writer::from_writer(file);
        let csv_err = |e: csv::Error| CoreError::Csv {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        w.write_record(["row", "kind", "column", "detail"])
            .map_err(csv_err)?;
        for p in &self.problems {
            w.write_record([
                p.row.to_string(),
                "skipped".into(),
                crate::export::neutralise(p.column.as_deref().unwrap_or("")).into_owned(),
                crate::export::neutralise(&p.reason).into_owned(),
            ])
            .map_err(csv_err)?;
        }
        for d in &self.possible_duplicates {
            w.write_record([
                d.row.to_string(),
                "possible duplicate".into(),
                d.shared.into(),
                crate::export::neutralise(&d.describe()).into_owned(),
            ])
            .map_err(csv_err)?;
        }
        w.flush().map_err(io)?;
        Ok(())
    }
}

/// A file reader that counts the bytes it hands out (for progress).
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A row decoded and validated, ready to write.
struct ParsedRow {
    row: u64,
    draft: ContactDraft,
    /// Emails already normalised.
    emails: Vec<String>,
    /// The key of a row without email or external id.
    fingerprint: Option<String>,
    /// The row validated on its own (id still nil): written as is when the
    /// row matches no existing contact.
    validated: Contact,
    /// Its field map for the write path, made here so the writer thread
    /// (the import's bottleneck) only writes.
    new: Option<crate::contacts::NewContact>,
}

enum Msg {
    Row(Box<ParsedRow>),
    Problem(RowProblem),
    Blank,
}

/// Rows handed from the reader to the writer a chunk at a time: one
/// hand-off per row cost a thread wake-up per row (measured: 14% of the
/// writer's time in futex calls).
const CHUNK: usize = 256;

/// Written rows on their way back to the reader, still in the boxes the
/// reader made (unboxing would free each box on the writer).
#[allow(clippy::vec_box)]
type Spent = Vec<Box<ParsedRow>>;

/// The reader's end: buffers messages and sends them in chunks.
struct RowSender {
    tx: mpsc::SyncSender<Vec<Msg>>,
    buf: Vec<Msg>,
    /// Rows the writer is done with, handed back to be freed here: memory
    /// is cheapest to free on the thread that allocated it (freeing the
    /// reader's rows on the writer cost the writer, the import's
    /// bottleneck, about 8% of its time, and the reader as much again in
    /// collecting the blocks freed from afar).
    spent: mpsc::Receiver<Spent>,
}

impl RowSender {
    /// Queue a message; `Err` once the writer has gone.
    fn send(&mut self, msg: Msg) -> std::result::Result<(), ()> {
        self.buf.push(msg);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> std::result::Result<(), ()> {
        while let Ok(rows) = self.spent.try_recv() {
            drop(rows);
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx.send(chunk).map_err(|_| ())
    }
}

impl Drop for RowSender {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// The writer's end: yields messages one at a time.
struct RowReceiver {
    rx: mpsc::Receiver<Vec<Msg>>,
    buf: std::vec::IntoIter<Msg>,
    /// Rows written since the last chunk, going back to the reader.
    spent: Spent,
    back: mpsc::Sender<Spent>,
}

impl RowReceiver {
    fn recv(&mut self) -> Option<Msg> {
        loop {
            if let Some(m) = self.buf.next() {
                return Some(m);
            }
            if !self.spent.is_empty() {
                let rows = std::mem::replace(&mut self.spent, Vec::with_capacity(CHUNK));
                // The reader may be gone (end of file): then they are
                // freed here.
                let _ = self.back.send(rows);
            }
            self.buf = self.rx.recv().ok()?.into_iter();
        }
    }

    /// Hand a written row back to the reader to be freed.
    fn done(&mut self, row: Box<ParsedRow>) {
        self.spent.push(row);
    }
}

struct Opened {
    reader: Box<dyn Read + Send>,
    encoding: TextEncoding,
    /// The sample was plain ASCII and not the whole file: UTF-8 and
    /// Windows-1252 read it alike, so the first cell past it with other
    /// bytes decides (see [`Cells`]).
    undecided: bool,
    delimiter: u8,
    total: u64,
    counter: Arc<AtomicU64>,
    /// The last two bytes of text the reader has handed out.
    tail: Arc<std::sync::atomic::AtomicU16>,
    /// Bytes read since the last record ended (see [`RecordCap`]).
    since: Arc<AtomicU64>,
}

/// How a row's cells become text. A transcoded file (Windows-1252,
/// UTF-16) reaches the CSV reader as UTF-8 already. A UTF-8 file's cells
/// are checked, and a row with bytes that are not UTF-8 is reported. A
/// file whose first 64 KB are plain ASCII is undecided: an export whose
/// first accented name comes after that (a Windows-1252 file sorted by
/// name, say) would otherwise have every such row reported as broken.
/// Its first cell with other bytes decides: valid UTF-8 makes it UTF-8,
/// anything else Windows-1252 (the only 8-bit encoding the guess knows),
/// from that cell on; everything before it was ASCII, which both read
/// alike.
#[derive(Clone)]
pub(crate) struct Cells {
    utf8: bool,
    /// `UNDECIDED`, `UTF8` or `WINDOWS_1252`; `None` once decided at
    /// the start.
    state: Option<Arc<std::sync::atomic::AtomicU8>>,
}

const UNDECIDED: u8 = 0;
const UTF8: u8 = 1;
const WINDOWS_1252: u8 = 2;

impl Cells {
    fn new(opened: &Opened) -> Cells {
        let utf8 = matches!(opened.encoding, TextEncoding::Utf8 { .. });
        Cells {
            utf8,
            state: (utf8 && opened.undecided)
                .then(|| Arc::new(std::sync::atomic::AtomicU8::new(UNDECIDED))),
        }
    }

    /// A cell's text; `None` if a UTF-8 file's cell is not UTF-8.
    fn text<'a>(&self, raw: &'a [u8]) -> Option<std::borrow::Cow<'a, str>> {
        if !self.utf8 {
            return Some(String::from_utf8_lossy(raw));
        }
        let utf8 = std::str::from_utf8(raw);
        let Some(state) = &self.state else {
            return utf8.ok().map(Into::into);
        };
        if raw.is_ascii() {
            return utf8.ok().map(Into::into);
        }
        let windows = |raw: &'a [u8]| encoding_rs::WINDOWS_1252.decode_without_bom_handling(raw).0;
        match state.load(Ordering::Relaxed) {
            WINDOWS_1252 => Some(windows(raw)),
            UTF8 => utf8.ok().map(Into::into),
            _ => match utf8 {
                Ok(t) => {
                    state.store(UTF8, Ordering::Relaxed);
                    Some(t.into())
                }
                Err(_) => {
                    state.store(WINDOWS_1252, Ordering::Relaxed);
                    Some(windows(raw))
                }
            },
        }
    }

    /// The encoding the file turned out to be in, for the report.
    fn name(&self, guessed: TextEncoding) -> &'static str {
        match self.state.as_ref().map(|s| s.load(Ordering::Relaxed)) {
            Some(WINDOWS_1252) => TextEncoding::Windows1252.name(),
            _ => guessed.name(),
        }
    }
}

/// The most of the file one record may take. A quote that is never
/// closed makes the rest of the file one cell; without a cap the reader
/// would hold all of it in memory before reporting anything. No real row
/// comes near this (a cell past the synced bounds is refused anyway).
pub const MAX_RECORD_BYTES: u64 = 4 << 20;

/// Fails a read once the record being read has taken more than
/// [`MAX_RECORD_BYTES`] (the reader resets the count after each record;
/// the CSV reader's own read-ahead, a few KB, counts towards the next).
struct RecordCap<R> {
    inner: R,
    since: Arc<AtomicU64>,
}

/// The error a [`RecordCap`] fails with.
#[derive(Debug)]
struct RecordTooLong;

impl std::fmt::Display for RecordTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a record longer than {} MiB", MAX_RECORD_BYTES >> 20)
    }
}

impl std::error::Error for RecordTooLong {}

impl<R: Read> Read for RecordCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.since.load(Ordering::Relaxed) > MAX_RECORD_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                RecordTooLong,
            ));
        }
        let n = self.inner.read(buf)?;
        self.since.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Whether a CSV error is a [`RecordCap`]'s.
fn record_too_long(e: &csv::Error) -> bool {
    match e.kind() {
        csv::ErrorKind::Io(io) => io
            .get_ref()
            .is_some_and(|inner| inner.is::<RecordTooLong>()),
        _ => false,
    }
}

/// A reader that remembers the last two bytes it handed out: at the end
/// of a file, whether its last line ended in CRLF.
struct Tail<R> {
    inner: R,
    last: Arc<std::sync::atomic::AtomicU16>,
}

impl<R: Read> Read for Tail<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let last = match n {
            0 => return Ok(0),
            1 => (self.last.load(Ordering::Relaxed) << 8) | u16::from(buf[0]),
            _ => u16::from_be_bytes([buf[n - 2], buf[n - 1]]),
        };
        self.last.store(last, Ordering::Relaxed);
        Ok(n)
    }
}

fn open_csv(path: &Path) -> Result<Opened> {
    let io = |source| CoreError::Io {
        path: path.to_path_buf(),
        err: source,
    };
    let mut f = File::open(path).map_err(io)?;
    let total = f.metadata().map_err(io)?.len();
    let mut sample = Vec::with_capacity(sniff::SAMPLE_LEN);
    (&mut f)
        .take(sniff::SAMPLE_LEN as u64)
        .read_to_end(&mut sample)
        .map_err(io)?;
    let complete = (sample.len() as u64) >= total;
    let enc = sniff::encoding(&sample, complete);
    let undecided = !complete && sample.is_ascii();
    let (text, _, _) = enc.encoding().decode(&sample);
    // Excel's hint line ("sep=;"), which Excel itself hides: it names the
    // delimiter and is not the header.
    let hint = text
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .and_then(|l| {
            let l = l.trim_end_matches('\r');
            let (prefix, rest) = (l.get(..4)?, l.get(4..)?);
            let mut chars = rest.chars();
            match (
                prefix.eq_ignore_ascii_case("sep="),
                chars.next(),
                chars.next(),
            ) {
                (true, Some(c), None) if c.is_ascii() && c != '"' => Some(c as u8),
                _ => None,
            }
        });
    let delimiter = hint.unwrap_or_else(|| sniff::delimiter(&text));
    f.seek(SeekFrom::Start(0)).map_err(io)?;
    let counter = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        inner: f,
        count: counter.clone(),
    };
    let mut reader: Box<dyn Read + Send> = match enc {
        TextEncoding::Utf8 { bom } => {
            let mut r = BufReader::with_capacity(256 * 1024, counting);
            if bom {
                let mut skip = [0u8; 3];
                r.read_exact(&mut skip).map_err(io)?;
            }
            Box::new(r)
        }
        other => Box::new(BufReader::with_capacity(
            256 * 1024,
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(other.encoding()))
                .build(counting),
        )),
    };
    if hint.is_some() {
        // Skip the hint line (a BufReader below: byte reads are cheap).
        let mut byte = [0u8; 1];
        while reader.read(&mut byte).map_err(io)? == 1 && byte[0] != b'\n' {}
    }
    let tail = Arc::new(std::sync::atomic::AtomicU16::new(0));
    let since = Arc::new(AtomicU64::new(0));
    Ok(Opened {
        reader: Box::new(RecordCap {
            inner: Tail {
                inner: reader,
                last: tail.clone(),
            },
            since: since.clone(),
        }),
        encoding: enc,
        undecided,
        delimiter,
        total,
        counter,
        tail,
        since,
    })
}

/// Undo the formula neutralisation our own export applies ("'=…" → "=…").
fn unneutralise(v: &str) -> &str {
    match v.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => v,
    }
}

/// The fields of a row's key besides the name, company, postcode, date of
/// birth and phones: two rows that differ in one of them are different
/// people (John Smith in London and John Smith in Leeds).
fn extra_fields(d: &ContactDraft) -> [Option<&str>; 7] {
    // A key, not a field list: a detail declared later stays out of it, so
    // a file imported before keeps matching the contacts it made.
    [
        "job_title",
        "address_line1",
        "address_line2",
        "city",
        "region",
        "country",
        "source",
    ]
    .map(|f| d.details.get(f))
}

/// The key of a row without email or external id: every field it has.
fn row_fingerprint(d: &ContactDraft) -> String {
    let mut h = Sha256::new();
    h.update(identity_fingerprint(d).as_bytes());
    hash_texts(&mut h, extra_fields(d));
    format!("fp2:{}", hex::encode(&h.finalize()[..16]))
}

/// Hash optional texts as a fingerprint compares them: trimmed, case
/// folded, each ended by a NUL.
fn hash_texts<'a>(h: &mut Sha256, parts: impl IntoIterator<Item = Option<&'a str>>) {
    for part in parts {
        h.update(part.unwrap_or("").trim().to_lowercase().as_bytes());
        h.update([0]);
    }
}

/// The part of [`row_fingerprint`] that names the person: the first
/// builds stored it alone (as the key itself), and the row key still
/// hashes it, so keys stay as they were.
fn identity_fingerprint(d: &ContactDraft) -> String {
    let mut h = Sha256::new();
    hash_texts(
        &mut h,
        [
            d.first_name.as_deref(),
            d.last_name.as_deref(),
            d.full_name.as_deref(),
            d.company_name.as_deref(),
            d.details.get("postcode"),
            d.date_of_birth.as_deref(),
        ],
    );
    for p in &d.phones {
        h.update(p.as_bytes());
        h.update([0]);
    }
    format!("fp:{}", hex::encode(&h.finalize()[..16]))
}

/// Decode and validate rows on the producer thread.
#[allow(clippy::too_many_arguments)]
fn produce(
    mut rdr: csv::Reader<Box<dyn Read + Send>>,
    cells: Cells,
    columns: &[ColumnMapping],
    header_len: usize,
    region: crate::normalize::Region,
    mut tx: RowSender,
    control: &ImportControl,
    path: &Path,
    tail: &std::sync::atomic::AtomicU16,
    since: &AtomicU64,
) -> std::result::Result<(), String> {
    let mut rec = csv::ByteRecord::new();
    let mut row: u64 = 1;
    loop {
        if control.is_cancelled() {
            return Ok(());
        }
        let line_before = rdr.position().line();
        since.store(0, Ordering::Relaxed);
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => {
                // Empty lines at the end of the file. A CRLF file's last
                // record leaves its '\n' to this read: not a line of its own.
                let lines = rdr.position().line().saturating_sub(line_before);
                let crlf_rest =
                    lines > 0 && tail.load(Ordering::Relaxed) == u16::from_be_bytes(*b"\r\n");
                for _ in 0..lines - u64::from(crlf_rest) {
                    if tx.send(Msg::Blank).is_err() {
                        break;
                    }
                }
                return Ok(());
            }
            Ok(true) => {
                // The csv reader skips empty lines; a spreadsheet shows them
                // as rows, so count them to keep row numbers true.
                // Lines consumed = skipped empty lines + the record's own
                // lines (one, plus newlines inside quoted cells).
                let consumed = rdr.position().line().saturating_sub(line_before);
                let own = 1 + rec
                    .iter()
                    .map(|f| f.iter().filter(|b| **b == b'\n').count() as u64)
                    .sum::<u64>();
                for _ in 0..consumed.saturating_sub(own) {
                    row += 1;
                    if tx.send(Msg::Blank).is_err() {
                        return Ok(());
                    }
                }
            }
            Err(e) if record_too_long(&e) => {
                return Err(format!(
                    "row {}: a quote opened in this row is never closed (more than {} MiB of the \
                     file without the closing \"), so the rest of the file would be one cell; the \
                     import stopped here. Add the missing quote and import again: rows already \
                     imported are not duplicated",
                    row + 1,
                    MAX_RECORD_BYTES >> 20
                ));
            }
            Err(e) => {
                row += 1;
                // The csv reader is flexible, so errors here are I/O or
                // undecodable input in a transcoded file: report and go on
                // unless the stream itself is broken.
                let fatal = matches!(e.kind(), csv::ErrorKind::Io(_));
                let msg = Msg::Problem(RowProblem {
                    row,
                    column: None,
                    reason: format!("could not be read: {e}"),
                });
                if tx.send(msg).is_err() || fatal {
                    return if fatal {
                        Err(format!("{}: {e}", path.display()))
                    } else {
                        Ok(())
                    };
                }
                continue;
            }
        }
        row += 1;
        let msg = parse_row(&rec, row, &cells, columns, header_len, region);
        if tx.send(msg).is_err() {
            return Ok(());
        }
    }
}

fn parse_row(
    rec: &csv::ByteRecord,
    row: u64,
    cells: &Cells,
    columns: &[ColumnMapping],
    header_len: usize,
    region: crate::normalize::Region,
) -> Msg {
    if rec
        .iter()
        .all(|f| f.iter().all(|b| b.is_ascii_whitespace()))
    {
        return Msg::Blank;
    }
    let problem = |column: Option<&str>, reason: String| {
        Msg::Problem(RowProblem {
            row,
            column: column.map(str::to_string),
            reason,
        })
    };
    if rec.len() != header_len {
        // Trailing empty cells (a common spreadsheet artefact) are harmless.
        let extra_empty =
            rec.len() > header_len && rec.iter().skip(header_len).all(|f| f.is_empty());
        if !extra_empty {
            return problem(
                None,
                format!(
                    "has {} fields but the header has {}; check for an unquoted delimiter or a missing quote",
                    rec.len(),
                    header_len
                ),
            );
        }
    }
    let mut draft = ContactDraft::default();
    let mut emails = Vec::new();
    for m in columns {
        let Some(field) = m.field.as_deref() else {
            continue;
        };
        let raw = rec.get(m.index).unwrap_or(b"");
        let Some(text) = cells.text(raw) else {
            return problem(
                Some(&m.header),
                "contains bytes that are not valid UTF-8; save the file as \"CSV UTF-8\" and import again".into(),
            );
        };
        let value = unneutralise(text.trim());
        if value.is_empty() {
            continue;
        }
        // Validate cell by cell so the report can name the column.
        match field {
            "email" => {
                for part in value
                    .split([';', ','])
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                {
                    match normalize::email(part) {
                        Ok(e) => emails.push(e),
                        Err(r) => return problem(Some(&m.header), format!("invalid email: {r}")),
                    }
                }
            }
            "phone" => {
                // Several numbers in one cell (our own export writes the
                // second and later ones so) are separated by semicolons.
                for part in normalize::split_phones(value) {
                    match normalize::phone(part, region) {
                        // Store the normalised form so the writer need not
                        // parse again.
                        Ok(p) => draft.phones.push(p),
                        Err(r) => return problem(Some(&m.header), format!("invalid phone: {r}")),
                    }
                }
                draft.phones_verified = true;
                continue;
            }
            "date_of_birth" if normalize::is_unknown_date(value) => continue,
            "date_of_birth" => {
                if let Err(r) = normalize::date(value) {
                    return problem(Some(&m.header), format!("invalid date: {r}"));
                }
            }
            "stage" if crate::Stage::parse(value).is_none() => {
                return problem(
                    Some(&m.header),
                    format!(
                        "{:?} is not a stage (prospect, client or lapsed)",
                        normalize::clip(value)
                    ),
                );
            }
            _ => {}
        }
        if let Err(e) = draft.set(field, value) {
            return problem(Some(&m.header), e.reason);
        }
    }
    // Whole-row checks (a name or an email or a phone, field lengths).
    let validated = match draft.validate(Uuid::nil(), region) {
        Ok(c) => c,
        Err(errs) => {
            let first = &errs[0];
            let col = columns
                .iter()
                .find(|m| m.field.as_deref() == Some(first.field.as_str()))
                .map(|m| m.header.as_str());
            return problem(col, format!("{}: {}", first.field, first.reason));
        }
    };
    let fp = (emails.is_empty() && draft.external_id.is_none()).then(|| row_fingerprint(&draft));
    let new = crate::contacts::NewContact::new(&validated).ok();
    Msg::Row(Box::new(ParsedRow {
        row,
        draft,
        emails,
        fingerprint: fp,
        validated,
        new,
    }))
}

/// Merge imported values into an existing contact: non-empty imported
/// values win, lists are unioned. Nothing already stored is dropped.
fn merge(existing: &Contact, incoming: &ContactDraft) -> ContactDraft {
    let mut d = ContactDraft::from_contact(existing);
    macro_rules! take {
        ($($f:ident),*) => { $( if incoming.$f.is_some() { d.$f = incoming.$f.clone(); } )* };
    }
    take!(
        kind,
        first_name,
        last_name,
        company_name,
        stage,
        owner,
        external_id,
        date_of_birth
    );
    for (f, v) in incoming.details.iter() {
        if let Some(v) = v {
            d.details.set(f.name, Some(v.to_string()));
        }
    }
    if incoming.full_name.is_some() && incoming.first_name.is_none() && incoming.last_name.is_none()
    {
        d.first_name = None;
        d.last_name = None;
        d.full_name = incoming.full_name.clone();
    }
    for t in &incoming.tags {
        if !d.tags.iter().any(|x| x.eq_ignore_ascii_case(t)) {
            d.tags.push(t.clone());
        }
    }
    for p in &incoming.phones {
        if !d.phones.contains(p) {
            d.phones.push(p.clone());
        }
    }
    for (k, v) in &incoming.custom {
        d.custom.insert(k.clone(), v.clone());
    }
    d
}

/// Read the header row and build the column mapping (used by the app's
/// import wizard to show the detected mapping before running).
pub fn preview(
    path: &Path,
    mappings: &[(String, String)],
    rows: usize,
) -> Result<(ImportReport, Vec<Vec<String>>)> {
    let opened = open_csv(path)?;
    let mut rdr = csv_reader(opened.reader, opened.delimiter);
    let headers = read_headers(&mut rdr, path)?;
    let columns = headers::map_headers(&headers, mappings)?;
    let mut sample = Vec::new();
    let mut rec = csv::StringRecord::new();
    while sample.len() < rows {
        opened.since.store(0, Ordering::Relaxed);
        match rdr.read_record(&mut rec) {
            Ok(true) => sample.push(rec.iter().map(str::to_string).collect()),
            Ok(false) => break,
            Err(_) => sample.push(Vec::new()),
        }
    }
    Ok((
        ImportReport {
            file: path.to_path_buf(),
            encoding: opened.encoding.name().into(),
            delimiter: delimiter_name(opened.delimiter),
            columns,
            ..Default::default()
        },
        sample,
    ))
}

fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".into(),
        other => (other as char).to_string(),
    }
}

fn csv_reader(r: Box<dyn Read + Send>, delimiter: u8) -> csv::Reader<Box<dyn Read + Send>> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(256 * 1024)
        .from_reader(r)
}

fn read_headers(rdr: &mut csv::Reader<Box<dyn Read + Send>>, path: &Path) -> Result<Vec<String>> {
    let mut rec = csv::ByteRecord::new();
    let bad = |reason: String| CoreError::Csv {
        path: path.to_path_buf(),
        reason,
    };
    if !rdr
        .read_byte_record(&mut rec)
        .map_err(|e| bad(format!("header row: {e}")))?
    {
        return Err(bad(
            "the file is empty; expected a header row such as \"First Name,Last Name,Email\""
                .into(),
        ));
    }
    let headers: Vec<String> = rec
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim()
                .trim_start_matches('\u{feff}')
                .to_string()
        })
        .collect();
    if headers.iter().all(|h| h.is_empty()) {
        return Err(bad(
            "row 1 is empty; the first row must name the columns".into()
        ));
    }
    Ok(headers)
}

impl Store {
    /// Import contacts from a CSV file. `on_progress` is called after each
    /// batch; `control` can cancel.
    pub fn import_contacts(
        &mut self,
        path: &Path,
        opts: &ImportOptions,
        control: &ImportControl,
        on_progress: &mut dyn FnMut(Progress),
    ) -> Result<ImportReport> {
        let opened = open_csv(path)?;
        let cells = Cells::new(&opened);
        let mut rdr = csv_reader(opened.reader, opened.delimiter);
        let headers = read_headers(&mut rdr, path)?;
        let columns = headers::map_headers(&headers, &opts.mappings)?;
        if !columns.iter().any(|c| c.field.is_some()) {
            return Err(CoreError::NothingMapped {
                path: path.to_path_buf(),
                columns: headers.clone(),
            });
        }
        let mut report = ImportReport {
            file: path.to_path_buf(),
            encoding: opened.encoding.name().into(),
            delimiter: delimiter_name(opened.delimiter),
            columns: columns.clone(),
            dry_run: opts.dry_run,
            ..Default::default()
        };
        let region = self.default_region();
        let header_len = headers.len();
        let (tx, rx) = mpsc::sync_channel::<Vec<Msg>>(8);
        let (back, spent) = mpsc::channel();
        let tx = RowSender {
            tx,
            buf: Vec::with_capacity(CHUNK),
            spent,
        };
        let mut rx = RowReceiver {
            rx,
            buf: Vec::new().into_iter(),
            spent: Vec::with_capacity(CHUNK),
            back,
        };
        let counter = opened.counter.clone();
        let tail = opened.tail.clone();
        let since = opened.since.clone();
        let total = opened.total;
        let actor = Actor::Import {
            user: self.identity().user_id.clone(),
            batch: Uuid::now_v7(),
        };
        let batch_size = opts.batch_size.max(1);
        let reader_cells = cells.clone();
        let produced = std::thread::scope(|s| {
            let cols = &columns;
            let producer = s.spawn(move || {
                produce(
                    rdr,
                    reader_cells,
                    cols,
                    header_len,
                    region,
                    tx,
                    control,
                    path,
                    &tail,
                    &since,
                )
            });
            let written = self.write_rows(
                &mut rx,
                &actor,
                opts.dry_run,
                batch_size,
                control,
                &mut report,
                &mut |rows| {
                    on_progress(Progress {
                        rows,
                        bytes_read: counter.load(Ordering::Relaxed).min(total),
                        total_bytes: total,
                    })
                },
            );
            // Stop the producer if the writer gave up, then collect it.
            drop(rx);
            let produced = producer.join();
            (written, produced)
        });
        let (written, produced) = produced;
        written?;
        match produced {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => {
                return Err(CoreError::Csv {
                    path: path.to_path_buf(),
                    reason,
                })
            }
            Err(_) => {
                return Err(CoreError::Csv {
                    path: path.to_path_buf(),
                    reason: "the reader stopped unexpectedly".into(),
                })
            }
        }
        if control.is_cancelled() {
            report.cancelled = true;
        }
        report.encoding = cells.name(opened.encoding).into();
        on_progress(Progress {
            rows: report.rows,
            bytes_read: total,
            total_bytes: total,
        });
        Ok(report)
    }

    #[allow(clippy::too_many_arguments)]
    fn write_rows(
        &mut self,
        rx: &mut RowReceiver,
        actor: &Actor,
        dry_run: bool,
        batch_size: usize,
        control: &ImportControl,
        report: &mut ImportReport,
        progress: &mut dyn FnMut(u64),
    ) -> Result<()> {
        let region = self.default_region();
        if dry_run {
            // A dry run is the real import in one transaction that is never
            // committed: the report is the same by construction, memory stays
            // bounded by SQLite's page cache, and dropping the transaction
            // rolls every change back (no event is emitted before a commit,
            // so none is collected either: memory stays constant).
            let mut tx = self.write(actor.clone())?;
            tx.collect_no_events();
            loop {
                let (state, batch) = fill_batch(&mut tx, rx, region, batch_size, control)?;
                report.absorb(batch);
                progress(report.rows);
                if state != BatchEnd::Full {
                    return Ok(());
                }
            }
        }
        loop {
            let mut tx = self.write(actor.clone())?;
            let (state, batch) = fill_batch(&mut tx, rx, region, batch_size, control)?;
            if state == BatchEnd::Cancelled {
                return Ok(()); // tx dropped: the open batch rolls back
            }
            tx.commit()?;
            report.absorb(batch);
            progress(report.rows);
            if state == BatchEnd::Done {
                return Ok(());
            }
        }
    }
}

/// Why a batch ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BatchEnd {
    /// It reached the batch size; more rows may follow.
    Full,
    /// The reader has no more rows.
    Done,
    /// The user cancelled.
    Cancelled,
}

/// Write up to `batch_size` rows into `tx`, counting what happened.
fn fill_batch(
    tx: &mut crate::store::WriteTx<'_>,
    rx: &mut RowReceiver,
    region: crate::normalize::Region,
    batch_size: usize,
    control: &ImportControl,
) -> Result<(BatchEnd, ImportReport)> {
    let mut batch = ImportReport::default();
    for _ in 0..batch_size {
        if control.is_cancelled() {
            return Ok((BatchEnd::Cancelled, batch));
        }
        let Some(msg) = rx.recv() else {
            return Ok((BatchEnd::Done, batch));
        };
        batch.rows += 1;
        match msg {
            Msg::Blank => batch.blank += 1,
            Msg::Problem(p) => {
                batch.skipped += 1;
                batch.problems.push(p);
            }
            Msg::Row(mut r) => {
                let written = write_one(tx, &mut r, region, &mut batch);
                rx.done(r);
                written?
            }
        }
    }
    Ok((BatchEnd::Full, batch))
}

impl ImportReport {
    /// Count a possible duplicate, listing it while under the cap.
    fn possible_duplicate(&mut self, d: PossibleDuplicate) {
        self.possible_duplicate_count += 1;
        if self.possible_duplicates.len() < REPORT_CAP {
            self.possible_duplicates.push(d);
        }
    }

    /// Add a committed batch's counts.
    fn absorb(&mut self, batch: ImportReport) {
        self.rows += batch.rows;
        self.created += batch.created;
        self.updated += batch.updated;
        self.unchanged += batch.unchanged;
        self.skipped += batch.skipped;
        self.blank += batch.blank;
        for p in batch.problems {
            self.problem(p);
        }
        self.possible_duplicate_count += batch.possible_duplicate_count;
        for d in batch.possible_duplicates {
            if self.possible_duplicates.len() < REPORT_CAP {
                self.possible_duplicates.push(d);
            }
        }
    }
}

fn write_one(
    tx: &mut crate::store::WriteTx<'_>,
    r: &mut ParsedRow,
    region: crate::normalize::Region,
    batch: &mut ImportReport,
) -> Result<()> {
    // Match: any email, then the external id, then the row fingerprint.
    let mut target: Option<Uuid> = None;
    for e in &r.emails {
        if let Some(id) = tx.contact_by_email(e)? {
            target = Some(id);
            break;
        }
    }
    let incoming = &mut r.draft;
    // A file exported by this CRM carries our own ids as its record ids:
    // one that names a contact here is never stored as an external id,
    // whichever way the row matches (else re-importing our own export
    // changed every contact it matched by email).
    let own_id = match incoming.external_id.as_deref().map(Uuid::parse_str) {
        Some(Ok(own)) if tx.get_contact(own)?.is_some() => Some(own),
        _ => None,
    };
    // A record id that names a contact with other emails: not the same
    // person (different emails are different people), reported below.
    let mut id_conflict: Option<(Uuid, String)> = None;
    if target.is_none() {
        if let Some(ext) = incoming.external_id.clone() {
            let found = match own_id {
                Some(own) => Some(own),
                None => tx.contact_by_external_id(&ext)?,
            };
            if let Some(id) = found {
                // No email of the row matched (or the loop above would
                // have found it): the id decides only where the contact
                // has no email, or the row has none.
                let has_emails = tx.get_contact(id)?.is_some_and(|c| !c.emails.is_empty());
                if r.emails.is_empty() || !has_emails {
                    target = Some(id);
                } else {
                    id_conflict = Some((id, ext.clone()));
                }
            }
        }
    }
    if own_id.is_some() {
        incoming.external_id = None;
    }
    if target.is_none() {
        if let Some(fp) = &r.fingerprint {
            target = tx.contact_by_import_key(fp)?;
        }
    }
    let existing = match target {
        Some(id) => tx.get_contact(id)?,
        None => None,
    };
    let id = existing.as_ref().map(|c| c.id).unwrap_or_else(Uuid::now_v7);
    let merged: Contact;
    let validated = match &existing {
        // A new contact is exactly the row, already validated by the reader.
        None => {
            r.validated.id = id;
            Ok(&r.validated)
        }
        Some(c) => {
            let mut draft = merge(c, incoming);
            for e in &r.emails {
                if !draft.emails.contains(e) {
                    draft.emails.push(e.clone());
                }
            }
            // Emails owned by a different contact stay there (never move
            // silently).
            let mut kept = Vec::with_capacity(draft.emails.len());
            for e in draft.emails.drain(..) {
                match tx.contact_by_email(&e)? {
                    Some(owner) if owner != id => {}
                    _ => kept.push(e),
                }
            }
            draft.emails = kept;
            match draft.validate(id, region) {
                Ok(c) => {
                    merged = c;
                    Ok(&merged)
                }
                Err(errs) => Err(errs),
            }
        }
    };
    let contact = match validated {
        Ok(c) => c,
        Err(errs) => {
            batch.skipped += 1;
            batch.problems.push(RowProblem {
                row: r.row,
                column: None,
                reason: errs
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            });
            return Ok(());
        }
    };
    let saved = match (&existing, &r.new) {
        (Some(_), _) => tx.save_contact(contact),
        (None, Some(new)) => tx.save_new_contact(contact, new),
        (None, None) => tx.save_contact_over(contact, None),
    };
    let written = match saved {
        Ok(w) => w,
        // The write path refused a value before writing anything of this
        // row: the row is reported and the import goes on.
        Err(CoreError::Invalid(e)) => {
            batch.skipped += 1;
            batch.problems.push(RowProblem {
                row: r.row,
                column: None,
                reason: e.to_string(),
            });
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    match written {
        Written::Created => batch.created += 1,
        Written::Updated => batch.updated += 1,
        Written::Unchanged => batch.unchanged += 1,
    }
    if let Some(fp) = &r.fingerprint {
        tx.set_import_key(fp, id)?;
    }
    if let Some((other, value)) = id_conflict {
        batch.possible_duplicate(PossibleDuplicate {
            row: r.row,
            contact_id: id,
            other_contact_id: other,
            shared: "record id",
            value,
        });
    }
    // Same phone, different person (different email): worth a look.
    if !contact.emails.is_empty() {
        let id_text = id.to_string();
        for p in &contact.phones {
            tx.contacts_by_phone(p, &id_text, |other| {
                batch.possible_duplicate(PossibleDuplicate {
                    row: r.row,
                    contact_id: id,
                    other_contact_id: other,
                    shared: "phone",
                    value: p.clone(),
                })
            })?;
        }
    }
    Ok(())
}
