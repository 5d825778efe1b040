//! Reading the file: opening it (encoding, delimiter), the CSV reader,
//! the header row, cells as text, the byte counter behind the progress
//! bar, the cap on one record's length, and the channel that carries
//! parsed rows from the reader thread to the writer.

use super::*;

/// A file reader that counts the bytes it hands out (for progress).
pub(crate) struct Counting<R> {
    pub(crate) inner: R,
    pub(crate) count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A row decoded and validated, ready to write.
pub(crate) struct ParsedRow {
    pub(crate) row: u64,
    pub(crate) draft: ContactDraft,
    /// Emails already normalised.
    pub(crate) emails: Vec<String>,
    /// The key of a row without email or external id.
    pub(crate) fingerprint: Option<String>,
    /// The row validated on its own (id still nil): written as is when the
    /// row matches no existing contact.
    pub(crate) validated: Contact,
    /// Its field map for the write path, made here so the writer thread
    /// (the import's bottleneck) only writes.
    pub(crate) new: Option<crate::contacts::NewContact>,
}

pub(crate) enum Msg {
    Row(Box<ParsedRow>),
    Problem(RowProblem),
    Blank,
}

/// Rows handed from the reader to the writer a chunk at a time: one
/// hand-off per row cost a thread wake-up per row (measured: 14% of the
/// writer's time in futex calls).
pub(crate) const CHUNK: usize = 256;

/// Written rows on their way back to the reader, still in the boxes the
/// reader made (unboxing would free each box on the writer).
#[allow(clippy::vec_box)]
pub(crate) type Spent = Vec<Box<ParsedRow>>;

/// The reader's end: buffers messages and sends them in chunks.
pub(crate) struct RowSender {
    pub(crate) tx: mpsc::SyncSender<Vec<Msg>>,
    pub(crate) buf: Vec<Msg>,
    /// Rows the writer is done with, handed back to be freed here: memory
    /// is cheapest to free on the thread that allocated it (freeing the
    /// reader's rows on the writer cost the writer, the import's
    /// bottleneck, about 8% of its time, and the reader as much again in
    /// collecting the blocks freed from afar).
    pub(crate) spent: mpsc::Receiver<Spent>,
}

impl RowSender {
    /// Queue a message; `Err` once the writer has gone.
    pub(crate) fn send(&mut self, msg: Msg) -> std::result::Result<(), ()> {
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
pub(crate) struct RowReceiver {
    pub(crate) rx: mpsc::Receiver<Vec<Msg>>,
    pub(crate) buf: std::vec::IntoIter<Msg>,
    /// Rows written since the last chunk, going back to the reader.
    pub(crate) spent: Spent,
    pub(crate) back: mpsc::Sender<Spent>,
}

impl RowReceiver {
    pub(crate) fn recv(&mut self) -> Option<Msg> {
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
    pub(crate) fn done(&mut self, row: Box<ParsedRow>) {
        self.spent.push(row);
    }
}

pub(crate) struct Opened {
    pub(crate) reader: Box<dyn Read + Send>,
    pub(crate) encoding: TextEncoding,
    /// The sample was plain ASCII and not the whole file: UTF-8 and
    /// Windows-1252 read it alike, so the first cell past it with other
    /// bytes decides (see [`Cells`]).
    pub(crate) undecided: bool,
    pub(crate) delimiter: u8,
    pub(crate) total: u64,
    pub(crate) counter: Arc<AtomicU64>,
    /// The last two bytes of text the reader has handed out.
    pub(crate) tail: Arc<std::sync::atomic::AtomicU16>,
    /// Bytes read since the last record ended (see [`RecordCap`]).
    pub(crate) since: Arc<AtomicU64>,
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
    pub(crate) state: Option<Arc<std::sync::atomic::AtomicU8>>,
}

pub(crate) const UNDECIDED: u8 = 0;
pub(crate) const UTF8: u8 = 1;
pub(crate) const WINDOWS_1252: u8 = 2;

impl Cells {
    pub(crate) fn new(opened: &Opened) -> Cells {
        let utf8 = matches!(opened.encoding, TextEncoding::Utf8 { .. });
        Cells {
            utf8,
            state: (utf8 && opened.undecided)
                .then(|| Arc::new(std::sync::atomic::AtomicU8::new(UNDECIDED))),
        }
    }

    /// A cell's text; `None` if a UTF-8 file's cell is not UTF-8.
    pub(crate) fn text<'a>(&self, raw: &'a [u8]) -> Option<std::borrow::Cow<'a, str>> {
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
    pub(crate) fn name(&self, guessed: TextEncoding) -> &'static str {
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
pub(crate) struct RecordCap<R> {
    pub(crate) inner: R,
    pub(crate) since: Arc<AtomicU64>,
}

/// The error a [`RecordCap`] fails with.
#[derive(Debug)]
pub(crate) struct RecordTooLong;

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
pub(crate) fn record_too_long(e: &csv::Error) -> bool {
    match e.kind() {
        csv::ErrorKind::Io(io) => io
            .get_ref()
            .is_some_and(|inner| inner.is::<RecordTooLong>()),
        _ => false,
    }
}

/// A reader that remembers the last two bytes it handed out: at the end
/// of a file, whether its last line ended in CRLF.
pub(crate) struct Tail<R> {
    pub(crate) inner: R,
    pub(crate) last: Arc<std::sync::atomic::AtomicU16>,
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

pub(crate) fn open_csv(path: &Path) -> Result<Opened> {
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
pub(crate) fn unneutralise(v: &str) -> &str {
    match v.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => v,
    }
}

pub(crate) fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".into(),
        other => (other as char).to_string(),
    }
}

pub(crate) fn csv_reader(
    r: Box<dyn Read + Send>,
    delimiter: u8,
) -> csv::Reader<Box<dyn Read + Send>> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(256 * 1024)
        .from_reader(r)
}

pub(crate) fn read_headers(
    rdr: &mut csv::Reader<Box<dyn Read + Send>>,
    path: &Path,
) -> Result<Vec<String>> {
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
