//! `crm-bench docs`: the documents library on real encrypted profiles, its
//! files read by real worker processes (this executable, see `main`).
//!
//! Four parts, each against a baseline measured in the same run:
//!
//! 1. retrieval quality on the labelled corpus (`crm-docs-fixtures`)
//!    against a plain whole-document BM25 without stemming;
//! 2. adding 1,000 documents, with their formats' extraction and as plain
//!    text (the store's part, plus one cheap worker per file);
//! 3. opening the index and searching at 100,000 passages against the same
//!    searches over the 44-document corpus;
//! 4. time to the first streamed token of an answer, against a local
//!    OpenAI-style server's own round trip.
//!
//! Sizes come from the environment: `DOCS_BENCH_QUICK=1` (100 documents,
//! 10,000 passages), or `DOCS_BENCH_DOCS`, `DOCS_BENCH_PASSAGES`,
//! `DOCS_BENCH_SEARCHES`, `DOCS_BENCH_ASKS`; `DOCS_BENCH_PARTS` picks parts
//! (`quality,add,search,ask`).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use crm_core::settings::AiChange;
use crm_core::{FixedPassphrase, KeyStoreChoice, Store};
use crm_docs_fixtures::{metrics, Block, Format, Question, SourceDoc};
use crm_documents::{AddOptions, Added, DocIndex, Hit, Viewer};
use crm_extract::Extractor;

/// Hits a developer sees on a results page (the CLI's default): the
/// latency parts search for this many.
const PAGE: usize = 10;
/// Searches before timing starts: the first ones fault in the index's
/// pages and the statement cache.
const WARM_UP: usize = 20;

struct Sizes {
    docs: usize,
    passages: usize,
    searches: usize,
    asks: usize,
    parts: Vec<String>,
}

impl Sizes {
    fn from_env() -> Result<Sizes> {
        let quick = std::env::var("DOCS_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let get = |name: &str, full: usize, small: usize| -> Result<usize> {
            match std::env::var(name) {
                Ok(v) => v
                    .trim()
                    .replace(['_', ','], "")
                    .parse()
                    .with_context(|| format!("{name}={v:?} is not a number")),
                Err(_) => Ok(if quick { small } else { full }),
            }
        };
        let parts = std::env::var("DOCS_BENCH_PARTS")
            .unwrap_or_else(|_| "quality,add,search,ask".into())
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>();
        for p in &parts {
            if !["quality", "add", "search", "ask"].contains(&p.as_str()) {
                bail!("DOCS_BENCH_PARTS: unknown part {p:?} (quality, add, search, ask)");
            }
        }
        Ok(Sizes {
            docs: get("DOCS_BENCH_DOCS", 1000, 100)?.max(1),
            passages: get("DOCS_BENCH_PASSAGES", 100_000, 10_000)?.max(1),
            searches: get("DOCS_BENCH_SEARCHES", 500, 500)?.max(1),
            asks: get("DOCS_BENCH_ASKS", 20, 20)?.max(1),
            parts,
        })
    }

    fn wants(&self, part: &str) -> bool {
        self.parts.iter().any(|p| p == part)
    }
}

/// Run the documents benchmark.
pub fn run() -> Result<()> {
    let sizes = Sizes::from_env()?;
    let extractor = Extractor::this_executable()?;
    let tmp = tempfile::tempdir()?;
    let mut o = std::io::stdout().lock();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    writeln!(
        o,
        "documents benchmark ({cores} cores; encrypted profiles, each file read in a worker process)"
    )?;
    let corpus = crm_docs_fixtures::corpus();
    let questions = crm_docs_fixtures::questions();
    // The corpus profile serves part 1, the baseline of part 3 and part 4.
    let need_corpus = sizes.wants("quality") || sizes.wants("search") || sizes.wants("ask");
    let mut small = if need_corpus {
        let dir = tmp.path().join("corpus");
        crm_docs_fixtures::corpus::write_corpus_to(&dir).context("write the corpus")?;
        let mut store = profile(&tmp.path().join("corpus-profile"))?;
        let (added, _) = add_folder(&mut store, &extractor, &dir, "corpus")?;
        if added.len() != corpus.len() {
            bail!("{} corpus files added, not {}", added.len(), corpus.len());
        }
        let index = DocIndex::open(&store)?;
        Some((store, index))
    } else {
        None
    };
    if let (true, Some((store, index))) = (sizes.wants("quality"), small.as_mut()) {
        quality(&mut o, store, index, &corpus, &questions)?;
    }
    if sizes.wants("add") {
        adding(&mut o, &extractor, tmp.path(), &corpus, sizes.docs)?;
    }
    if let (true, Some((store, index))) = (sizes.wants("search"), small.as_mut()) {
        searching(
            &mut o,
            &extractor,
            tmp.path(),
            &corpus,
            &questions,
            &sizes,
            (store, index),
        )?;
    }
    if let (true, Some((store, index))) = (sizes.wants("ask"), small.as_mut()) {
        first_token(&mut o, store, index, &questions, sizes.asks)?;
    }
    Ok(())
}

/// A fresh profile as the app makes one: a passphrase-derived key
/// (Argon2id) and an encrypted database.
fn profile(dir: &Path) -> Result<Store> {
    Ok(Store::create(
        dir,
        KeyStoreChoice::Passphrase,
        &FixedPassphrase(zeroize::Zeroizing::new("crm-bench documents".into())),
    )?)
}

/// Add every file in `dir` with the library's own `add`; every file must
/// end up indexed (a benchmark of failures measures nothing). Returns
/// what was added and the seconds `add` took.
fn add_folder(
    store: &mut Store,
    extractor: &Extractor,
    dir: &Path,
    label: &str,
) -> Result<(Vec<Added>, f64)> {
    let cancel = AtomicBool::new(false);
    let t = Instant::now();
    let added = crm_documents::add(
        store,
        extractor,
        &[dir.to_path_buf()],
        &AddOptions::default(),
        &mut |p| {
            if p.done % 100 == 0 || p.done == p.total {
                eprintln!("  [{label}] {} of {} files added", p.done, p.total);
            }
        },
        &cancel,
    )?;
    let secs = t.elapsed().as_secs_f64();
    let bad: Vec<&Added> = added.iter().filter(|a| a.status != "indexed").collect();
    if let Some(a) = bad.first() {
        bail!(
            "{} of {} files were not indexed; the first, {}: {} ({})",
            bad.len(),
            added.len(),
            a.path.display(),
            a.status,
            a.reason.as_deref().unwrap_or("no reason given")
        );
    }
    Ok((added, secs))
}

/// The corpus id of a hit: its file name without the extension.
fn doc_id(file_name: &str) -> &str {
    file_name
        .rsplit_once('.')
        .map_or(file_name, |(stem, _)| stem)
}

/// Doc ids in rank order, each at its first occurrence only.
fn ranked_ids<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.filter(|id| seen.insert(*id))
        .map(str::to_string)
        .collect()
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Pdf => "PDF",
        Format::Docx => "DOCX",
        Format::Markdown => "Markdown",
        Format::Html => "HTML",
    }
}

/// One question's scores under one ranker.
struct Scored {
    ndcg: f64,
    recall: f64,
    rr: f64,
    /// The first result is the answer's document.
    top_doc: bool,
}

fn score(ranked: &[String], q: &Question) -> Scored {
    Scored {
        ndcg: metrics::ndcg_at(10, ranked, &q.judgements),
        recall: metrics::recall_at(10, ranked, &q.judgements),
        rr: metrics::reciprocal_rank(ranked, &q.judgements),
        top_doc: ranked.first().is_some_and(|d| *d == q.answer.doc),
    }
}

/// Means of nDCG@10, recall@10, MRR and the top-document share.
fn means<'a>(s: impl Iterator<Item = &'a Scored>) -> [f64; 4] {
    let mut sum = [0.0; 4];
    let mut n = 0usize;
    for x in s {
        sum[0] += x.ndcg;
        sum[1] += x.recall;
        sum[2] += x.rr;
        sum[3] += f64::from(u8::from(x.top_doc));
        n += 1;
    }
    sum.map(|v| v / n.max(1) as f64)
}

/// The baseline: Okapi BM25 (k1 1.2, b 0.75, Lucene's idf) over whole
/// documents, lower-cased alphanumeric tokens, no stemming, no stop words.
/// What a search without passages, headings or English analysis gives.
struct Bm25 {
    docs: Vec<(String, HashMap<String, u32>, f64)>,
    df: HashMap<String, u32>,
    avgdl: f64,
}

fn tokens(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
}

impl Bm25 {
    const K1: f64 = 1.2;
    const B: f64 = 0.75;

    fn new(corpus: &[SourceDoc]) -> Bm25 {
        let mut docs = Vec::new();
        let mut df: HashMap<String, u32> = HashMap::new();
        for d in corpus {
            let text = (1..=d.pages.len())
                .filter_map(|p| d.page_text(p))
                .collect::<Vec<_>>()
                .join("\n\n");
            let mut tf: HashMap<String, u32> = HashMap::new();
            let mut len = 0usize;
            for t in tokens(&text) {
                *tf.entry(t).or_default() += 1;
                len += 1;
            }
            for t in tf.keys() {
                *df.entry(t.clone()).or_default() += 1;
            }
            docs.push((d.id.clone(), tf, len as f64));
        }
        let avgdl = docs.iter().map(|d| d.2).sum::<f64>() / docs.len().max(1) as f64;
        Bm25 { docs, df, avgdl }
    }

    /// Document ids with a score above 0, best first (ties by id).
    fn rank(&self, query: &str) -> Vec<String> {
        // Each distinct query word counts once, as in most textbook BM25.
        let terms: HashSet<String> = tokens(query).collect();
        let n = self.docs.len() as f64;
        let mut scored: Vec<(f64, &str)> = self
            .docs
            .iter()
            .map(|(id, tf, len)| {
                let s: f64 = terms
                    .iter()
                    .filter_map(|t| {
                        let f = f64::from(*tf.get(t)?);
                        let df = f64::from(self.df.get(t).copied().unwrap_or(0));
                        let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                        Some(
                            idf * f * (Self::K1 + 1.0)
                                / (f + Self::K1 * (1.0 - Self::B + Self::B * len / self.avgdl)),
                        )
                    })
                    .sum();
                (s, id.as_str())
            })
            .filter(|(s, _)| *s > 0.0)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        scored.into_iter().map(|(_, id)| id.to_string()).collect()
    }
}

/// One question as the library answered it.
struct Outcome<'q> {
    q: &'q Question,
    format: Format,
    ours: Scored,
    base: Scored,
    /// The first hit is on the answer's page (see `quality` for formats
    /// without pages).
    first_right: bool,
    /// Whether that was judged by page number (else by evidence phrase).
    by_page: bool,
    top3: Vec<String>,
}

/// Part 1: retrieval quality on the labelled questions.
fn quality(
    o: &mut impl Write,
    store: &mut Store,
    index: &mut DocIndex,
    corpus: &[SourceDoc],
    questions: &[Question],
) -> Result<()> {
    let formats: HashMap<&str, Format> = corpus.iter().map(|d| (d.id.as_str(), d.format)).collect();
    let bm25 = Bm25::new(corpus);
    let agent = Viewer::agent(None);
    let mut out = Vec::with_capacity(questions.len());
    for q in questions {
        let hits: Vec<Hit> = index.search(store, &agent, &q.question, 100)?;
        let ranked = ranked_ids(hits.iter().map(|h| doc_id(&h.file_name)));
        let (first_right, by_page) = match hits.first() {
            None => (false, true),
            Some(h) => {
                let same_doc = doc_id(&h.file_name) == q.answer.doc;
                match h.page {
                    Some(p) => (same_doc && p == q.answer.page as i64, true),
                    None => (
                        same_doc && squash(&h.text).contains(&squash(&q.answer.evidence)),
                        false,
                    ),
                }
            }
        };
        out.push(Outcome {
            q,
            format: formats
                .get(q.answer.doc.as_str())
                .copied()
                .with_context(|| format!("{}: answer {} not in the corpus", q.id, q.answer.doc))?,
            ours: score(&ranked, q),
            base: score(&bm25.rank(&q.question), q),
            first_right,
            by_page,
            top3: ranked.into_iter().take(3).collect(),
        });
    }
    let ours = means(out.iter().map(|x| &x.ours));
    let base = means(out.iter().map(|x| &x.base));
    let per_format: Vec<String> = Format::ALL
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                corpus.iter().filter(|d| d.format == *f).count(),
                format_name(*f)
            )
        })
        .collect();
    writeln!(
        o,
        "\n1. retrieval quality: {} labelled questions over {} documents ({}); search(question, 100) as an agent, hits reduced to documents (first passage counts)",
        questions.len(),
        corpus.len(),
        per_format.join(", ")
    )?;
    writeln!(
        o,
        "  {:<40} {:>8} {:>14} {:>7}",
        "", "library", "BM25 baseline", "ratio"
    )?;
    for (i, name) in [
        "nDCG@10",
        "recall@10",
        "MRR",
        "first hit is the answer's document",
    ]
    .iter()
    .enumerate()
    {
        writeln!(
            o,
            "  {name:<40} {:>8.3} {:>14.3} {:>7.2}",
            ours[i],
            base[i],
            ratio(ours[i], base[i])
        )?;
    }
    let right = out.iter().filter(|x| x.first_right).count();
    let paged: Vec<&Outcome> = out.iter().filter(|x| x.by_page).collect();
    let unpaged: Vec<&Outcome> = out.iter().filter(|x| !x.by_page).collect();
    writeln!(
        o,
        "  first hit on the answer's page: {:.1}% ({right} of {}; the baseline ranks whole documents, so has no page)",
        pct_of(right, out.len()),
        out.len()
    )?;
    writeln!(
        o,
        "    a first hit with a page number is right on the answer's document and page: {} of {};\n    one without (HTML, Markdown: page == None) on the answer's document with the answer's evidence phrase in its\n    passage (whitespace-normalised): {} of {}",
        paged.iter().filter(|x| x.first_right).count(),
        paged.len(),
        unpaged.iter().filter(|x| x.first_right).count(),
        unpaged.len()
    )?;
    writeln!(
        o,
        "  by the answer document's format:\n    {:<9} {:>9} {:>18} {:>10} {:>6} {:>16}",
        "format", "questions", "nDCG@10 (baseline)", "recall@10", "MRR", "first hit right"
    )?;
    for f in Format::ALL {
        let of: Vec<&Outcome> = out.iter().filter(|x| x.format == f).collect();
        let m = means(of.iter().map(|x| &x.ours));
        let b = means(of.iter().map(|x| &x.base));
        let r = of.iter().filter(|x| x.first_right).count();
        writeln!(
            o,
            "    {:<9} {:>9} {:>9.3} ({:.3}) {:>10.3} {:>6.3} {:>9.1}% ({r}/{})",
            format_name(f),
            of.len(),
            m[0],
            b[0],
            m[1],
            m[2],
            pct_of(r, of.len()),
            of.len()
        )?;
    }
    let mut worst: Vec<&Outcome> = out.iter().collect();
    worst.sort_by(|a, b| {
        a.ours
            .ndcg
            .total_cmp(&b.ours.ndcg)
            .then(a.ours.rr.total_cmp(&b.ours.rr))
            .then(a.q.id.cmp(&b.q.id))
    });
    writeln!(o, "  the 5 worst questions by nDCG@10:")?;
    for x in worst.iter().take(5) {
        let question: String = x.q.question.chars().take(90).collect();
        writeln!(
            o,
            "    {} nDCG@10 {:.3} (baseline {:.3})  answer {} p{} ({})\n      {:?}\n      top 3: {}",
            x.q.id,
            x.ours.ndcg,
            x.base.ndcg,
            x.q.answer.doc,
            x.q.answer.page,
            format_name(x.format),
            question,
            if x.top3.is_empty() {
                "(no hits)".to_string()
            } else {
                x.top3.join(", ")
            }
        )?;
    }
    Ok(())
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        f64::NAN
    }
}

fn pct_of(n: usize, of: usize) -> f64 {
    100.0 * n as f64 / of.max(1) as f64
}

/// `n` documents cycling the corpus; copy `i` is `<id>-<i>`, and every
/// page ends with a line naming the copy, so no two files hash alike.
fn copies(corpus: &[SourceDoc], n: usize) -> Vec<SourceDoc> {
    (0..n)
        .map(|i| {
            let mut d = corpus[i % corpus.len()].clone();
            d.id = format!("{}-{i:04}", d.id);
            for (p, page) in d.pages.iter_mut().enumerate() {
                page.push(Block::Para(format!("Copy {i}, page {}.", p + 1)));
            }
            d
        })
        .collect()
}

/// A document as plain text: its pages separated by form feeds, which
/// `crm-extract` reads as pages.
fn as_text(d: &SourceDoc) -> String {
    (1..=d.pages.len())
        .filter_map(|p| d.page_text(p))
        .collect::<Vec<_>>()
        .join("\n\x0c")
}

/// Part 2: adding documents, with and without their formats' extraction.
fn adding(
    o: &mut impl Write,
    extractor: &Extractor,
    tmp: &Path,
    corpus: &[SourceDoc],
    n: usize,
) -> Result<()> {
    let docs = copies(corpus, n);
    let rich = tmp.join("add-formats");
    let plain = tmp.join("add-text");
    std::fs::create_dir_all(&rich)?;
    std::fs::create_dir_all(&plain)?;
    let (mut rich_bytes, mut plain_bytes) = (0usize, 0usize);
    for d in &docs {
        let b = d.bytes();
        rich_bytes += b.len();
        std::fs::write(rich.join(d.file_name()), b)?;
        let t = as_text(d);
        plain_bytes += t.len();
        std::fs::write(plain.join(format!("{}.txt", d.id)), t)?;
    }
    let source_pages: usize = docs.iter().map(|d| d.pages.len()).sum();
    let mut counts: HashMap<Format, usize> = HashMap::new();
    for d in &docs {
        *counts.entry(d.format).or_default() += 1;
    }
    let mix: Vec<String> = Format::ALL
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                counts.get(f).copied().unwrap_or(0),
                format_name(*f)
            )
        })
        .collect();
    writeln!(
        o,
        "\n2. adding {n} documents ({}; {source_pages} source pages), each to a fresh profile with `add`, end to end",
        mix.join(", ")
    )?;

    let mut s = profile(&tmp.join("add-formats-profile"))?;
    let (added, secs) = add_folder(&mut s, extractor, &rich, "formats")?;
    let pages: i64 = added.iter().map(|a| a.pages).sum();
    let t = Instant::now();
    let index = DocIndex::open(&s)?;
    let open_secs = t.elapsed().as_secs_f64();
    writeln!(
        o,
        "  with extraction   : {secs:>6.2} s  {:>6.1} docs/s  {:>7.1} pages/s  ({pages} pages stored: HTML and Markdown are one page each; {:.1} MB of files)",
        n as f64 / secs,
        pages as f64 / secs,
        rich_bytes as f64 / 1e6
    )?;
    drop(index);
    drop(s);

    let mut s = profile(&tmp.join("add-text-profile"))?;
    let (added, tsecs) = add_folder(&mut s, extractor, &plain, "text")?;
    let tpages: i64 = added.iter().map(|a| a.pages).sum();
    writeln!(
        o,
        "  without extraction: {tsecs:>6.2} s  {:>6.1} docs/s  {:>7.1} pages/s  ({tpages} pages: the same text as .txt, form feeds between pages; {:.1} MB)",
        n as f64 / tsecs,
        tpages as f64 / tsecs,
        plain_bytes as f64 / 1e6
    )?;
    drop(s);
    // What "without extraction" still pays per file: a worker process.
    // Alternated with the same process started and waited for directly,
    // which tells the worker's own cost from its keeper's.
    let (mut keeper, mut direct) = (Vec::new(), Vec::new());
    for _ in 0..30 {
        let t = Instant::now();
        extractor.extract("tiny.txt", TINY)?;
        keeper.push(t.elapsed().as_secs_f64() * 1000.0);
        direct.push(bare_worker()?);
    }
    keeper.sort_by(f64::total_cmp);
    direct.sort_by(f64::total_cmp);
    writeln!(
        o,
        "    (without extraction = a worker still reads each file, but plain text is split on form feeds and blank lines only,\n     so this is storing: hashing, chunks, pages, passages in SQLCipher, one audited write per file, plus a worker per\n     file on the reading thread, overlapping the store's work. A worker for a one-line file: p50 {:.1} ms through\n     Extractor::extract; the same process started and waited for directly: p50 {:.1} ms)",
        percentile(&keeper, 0.5),
        percentile(&direct, 0.5)
    )?;
    writeln!(
        o,
        "  with/without time ratio: {:.2} (the formats' parsing: PDF, DOCX, HTML, Markdown)",
        secs / tsecs
    )?;
    writeln!(
        o,
        "  index built from the {n} added with extraction (DocIndex::open): {open_secs:.2} s"
    )?;
    Ok(())
}

/// The smallest file a worker reads.
const TINY: &[u8] = b"One line of text.";

/// A worker for [`TINY`] without `Extractor`: this executable started
/// with the worker argument, the file on stdin, its answer read, waited
/// for. Milliseconds.
fn bare_worker() -> Result<f64> {
    let exe = std::env::current_exe()?;
    let t = Instant::now();
    let mut child = std::process::Command::new(exe)
        .arg(crm_extract::WORKER_ARG)
        .arg("text")
        .arg(crm_extract::Limits::default().memory.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(TINY)?;
    }
    let mut out = Vec::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_end(&mut out)?;
    }
    let status = child.wait()?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    if !status.success() || out.is_empty() {
        bail!("the worker run directly failed ({status})");
    }
    Ok(ms)
}

/// A small seeded generator (SplitMix64): the synthetic library is the
/// same on every run and machine without a dependency for it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// In [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Material for synthetic pages: the corpus's paragraphs and words, and
/// made-up words so the vocabulary is as large as a real library's.
struct Material {
    paragraphs: Vec<String>,
    words: Vec<String>,
    invented: Vec<String>,
}

impl Material {
    fn new(corpus: &[SourceDoc], rng: &mut Rng) -> Material {
        let mut paragraphs = Vec::new();
        let mut words = HashSet::new();
        for d in corpus {
            for b in d.pages.iter().flatten() {
                if let Block::Para(t) = b {
                    paragraphs.push(squash(t));
                    for w in t.split(|c: char| !c.is_alphabetic()) {
                        if w.len() >= 3 {
                            words.insert(w.to_lowercase());
                        }
                    }
                }
            }
        }
        let mut words: Vec<String> = words.into_iter().collect();
        words.sort();
        const SYLLABLES: [&str; 24] = [
            "ka", "lo", "ven", "tri", "mar", "sel", "du", "pon", "quen", "ba", "ris", "to", "ph",
            "gra", "nel", "sto", "vi", "hem", "ar", "cu", "lin", "mo", "ze", "ther",
        ];
        let invented = (0..30_000)
            .map(|_| {
                let n = 2 + rng.below(3);
                (0..n)
                    .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
                    .collect()
            })
            .collect();
        Material {
            paragraphs,
            words,
            invented,
        }
    }

    /// A short paragraph of sentences (~100 to 250 characters, so passages
    /// fill towards the library's 900): half corpus words, half made-up
    /// ones; both skewed towards the first of their list, as word use is.
    fn paragraph(&self, rng: &mut Rng) -> String {
        let n = 12 + rng.below(20);
        let mut out = String::new();
        let mut in_sentence = 0;
        for i in 0..n {
            let list = if rng.below(2) == 0 {
                &self.words
            } else {
                &self.invented
            };
            let u = rng.unit();
            let w = &list[((u * u * u) * list.len() as f64) as usize % list.len()];
            if in_sentence == 0 {
                let mut c = w.chars();
                if let Some(f) = c.next() {
                    out.extend(f.to_uppercase());
                    out.push_str(c.as_str());
                }
            } else {
                out.push_str(w);
            }
            in_sentence += 1;
            if in_sentence >= 8 + rng.below(9) || i + 1 == n {
                out.push_str(". ");
                in_sentence = 0;
            } else {
                out.push(' ');
            }
        }
        out.trim_end().to_string()
    }

    /// A page of about 4,200 characters: corpus paragraphs (two in five)
    /// and generated ones, as blocks.
    fn page(&self, rng: &mut Rng) -> Vec<String> {
        let mut blocks = Vec::new();
        let mut len = 0;
        while len < 4200 {
            let p = if rng.below(5) < 2 {
                self.paragraphs[rng.below(self.paragraphs.len())].clone()
            } else {
                self.paragraph(rng)
            };
            len += p.len() + 2;
            blocks.push(p);
        }
        blocks
    }
}

/// Passages the library will cut from pages of paragraphs (the text
/// reader's blocks: one per paragraph, form-feed pages numbered), and
/// their characters.
fn passages_of(pages: &[Vec<String>]) -> (usize, usize) {
    let x = crm_extract::Extracted {
        title: None,
        kind: crm_extract::Kind::Text,
        needs_ocr: false,
        pages: pages
            .iter()
            .enumerate()
            .map(|(i, blocks)| crm_extract::Page {
                number: Some(i as u32 + 1),
                blocks: blocks
                    .iter()
                    .map(|t| crm_extract::Block {
                        heading: None,
                        text: t.clone(),
                    })
                    .collect(),
            })
            .collect(),
    };
    let l = crm_documents::layout(&x);
    (
        l.passages.len(),
        l.passages.iter().map(|p| p.end - p.start).sum(),
    )
}

/// Pages per synthetic document: about 110 passages each (a page of
/// ~4,300 characters is five passages filled towards 900 characters and
/// the page's short rest, which never joins the next page's).
const SYNTHETIC_PAGES: usize = 18;

/// Part 3: opening the index and searching at `sizes.passages` passages.
fn searching(
    o: &mut impl Write,
    extractor: &Extractor,
    tmp: &Path,
    corpus: &[SourceDoc],
    questions: &[Question],
    sizes: &Sizes,
    small: (&mut Store, &mut DocIndex),
) -> Result<()> {
    let mut rng = Rng(0x00c0_ffee_d0c5);
    let material = Material::new(corpus, &mut rng);
    let dir = tmp.join("synthetic");
    std::fs::create_dir_all(&dir)?;
    let t = Instant::now();
    let (mut expected, mut chars, mut files, mut bytes) = (0usize, 0usize, 0usize, 0usize);
    while expected < sizes.passages {
        let pages: Vec<Vec<String>> = (0..SYNTHETIC_PAGES)
            .map(|_| material.page(&mut rng))
            .collect();
        let (n, c) = passages_of(&pages);
        expected += n;
        chars += c;
        let text = pages
            .iter()
            .map(|p| p.join("\n\n"))
            .collect::<Vec<_>>()
            .join("\n\x0c");
        bytes += text.len();
        std::fs::write(dir.join(format!("synthetic-{files:05}.txt")), text)?;
        files += 1;
    }
    let gen_secs = t.elapsed().as_secs_f64();
    let mut store = profile(&tmp.join("synthetic-profile"))?;
    let (_, add_secs) = add_folder(&mut store, extractor, &dir, "synthetic")?;

    // Built from the store's passages (the baseline), then opened as the
    // app starts: the index the last change saved in the store, loaded.
    let mut builds = Vec::new();
    let mut opens = Vec::new();
    let mut index: Option<DocIndex> = None;
    for _ in 0..3 {
        // The previous index is dropped first: two in memory at once
        // would measure the allocator, not the build.
        drop(index.take());
        let t = Instant::now();
        let built = DocIndex::build(&store)?;
        builds.push(t.elapsed().as_secs_f64());
        drop(built);
        let t = Instant::now();
        let opened = DocIndex::open(&store)?;
        opens.push(t.elapsed().as_secs_f64());
        index = Some(opened);
    }
    let mut index = index.context("the index was opened")?;
    let passages = index.passages();
    opens.sort_by(f64::total_cmp);
    builds.sort_by(f64::total_cmp);
    let open = percentile(&opens, 0.5);
    let build = percentile(&builds, 0.5);
    writeln!(
        o,
        "\n3. search at {passages} passages: {files} synthetic text documents of {SYNTHETIC_PAGES} form-feed pages, {:.0} passages each of {:.0}\n   characters on average ({:.0} MB; corpus paragraphs shuffled with a seeded generator, and generated ones\n   from corpus and made-up words; made in {gen_secs:.1} s, added in {add_secs:.1} s)",
        expected as f64 / files.max(1) as f64,
        chars as f64 / expected.max(1) as f64,
        bytes as f64 / 1e6
    )?;
    if passages as usize != expected {
        writeln!(
            o,
            "  (note: {expected} passages were expected from the layout, the index holds {passages})"
        )?;
    }
    let runs = |v: &[f64]| {
        v.iter()
            .map(|s| format!("{s:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(
        o,
        "  DocIndex::open (as on app start: the index saved in the store, loaded): median {open:.2} s of 3 ({})",
        runs(&opens)
    )?;
    writeln!(
        o,
        "  DocIndex::build (baseline: every passage indexed from the store): median {build:.2} s of 3 ({}); open/build {:.2}",
        runs(&builds),
        ratio(open, build)
    )?;
    let agent = Viewer::agent(None);
    let big = latencies(&mut store, &mut index, &agent, questions, sizes.searches)?;
    let base = latencies(small.0, small.1, &agent, questions, sizes.searches)?;
    let small_passages = small.1.passages();
    writeln!(
        o,
        "  {} searches (the corpus questions cycled, {PAGE} hits, as an agent, after {WARM_UP} unmeasured):",
        sizes.searches
    )?;
    writeln!(
        o,
        "    at {passages:>7} passages: p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms",
        percentile(&big, 0.5),
        percentile(&big, 0.95),
        percentile(&big, 0.99)
    )?;
    writeln!(
        o,
        "    at {small_passages:>7} passages: p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  (the 44-document corpus: baseline)",
        percentile(&base, 0.5),
        percentile(&base, 0.95),
        percentile(&base, 0.99)
    )?;
    writeln!(
        o,
        "    ratio p50 {:.1}, p95 {:.1}",
        ratio(percentile(&big, 0.5), percentile(&base, 0.5)),
        ratio(percentile(&big, 0.95), percentile(&base, 0.95))
    )?;
    if passages >= 100_000 {
        let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
        let p95 = percentile(&big, 0.95);
        writeln!(
            o,
            "  target search p95 <= 20 ms at 100k passages: {} ({p95:.2} ms)",
            verdict(p95 <= 20.0)
        )?;
        writeln!(
            o,
            "  target DocIndex::open <= 1 s: {} ({open:.2} s)",
            verdict(open <= 1.0)
        )?;
    }
    Ok(())
}

/// Milliseconds of `n` searches, the questions cycled, sorted.
fn latencies(
    store: &mut Store,
    index: &mut DocIndex,
    viewer: &Viewer,
    questions: &[Question],
    n: usize,
) -> Result<Vec<f64>> {
    for q in questions.iter().cycle().take(WARM_UP) {
        index.search(store, viewer, &q.question, PAGE)?;
    }
    let mut out = Vec::with_capacity(n);
    for q in questions.iter().cycle().take(n) {
        let t = Instant::now();
        let hits = index.search(store, viewer, &q.question, PAGE)?;
        out.push(t.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(hits);
    }
    out.sort_by(f64::total_cmp);
    Ok(out)
}

/// The value below which a share `p` of `sorted` lies (nearest rank).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// What the fake model streams: a few pieces, as a model would.
const PIECES: [&str; 4] = ["Within ", "24 hours ", "of the visit ", "[1]."];

/// A local stand-in for an OpenAI-style chat completions service: reads
/// a request, answers `200` with an event stream of [`PIECES`] and
/// `[DONE]`, and closes (the close ends the body). One connection at a
/// time is enough: the benchmark asks one question at a time.
fn serve(listener: TcpListener) {
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        // A broken connection is the client's problem to report.
        let _ = answer(&mut conn);
    }
}

fn answer(conn: &mut TcpStream) -> std::io::Result<()> {
    conn.set_nodelay(true)?;
    let mut r = BufReader::new(conn.try_clone()?);
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    // The whole prompt is read before answering, as a model must.
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    conn.write_all(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n",
    )?;
    for p in PIECES {
        let chunk = serde_json::json!({"choices": [{"delta": {"content": p}}]});
        conn.write_all(format!("data: {chunk}\n\n").as_bytes())?;
    }
    conn.write_all(b"data: [DONE]\n\n")?;
    conn.flush()
}

/// The server's own round trip: connect, POST a small chat request, read
/// up to the first `data:` line (the first token). Milliseconds.
fn bare_round_trip(addr: SocketAddr) -> Result<f64> {
    let body = r#"{"model":"bench","stream":true,"temperature":0.0,"messages":[{"role":"user","content":"How soon must a safeguarding concern be written up?"}]}"#;
    let t = Instant::now();
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    write!(
        s,
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut r = BufReader::new(s);
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            bail!("the local server closed before its first token");
        }
        if line.starts_with("data:") {
            return Ok(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
}

/// What `ask` does on the wire, alone: a new blocking `reqwest` client
/// (its runtime thread and TLS set-up included), a streamed POST, read to
/// the first `data:` line. Milliseconds.
fn client_round_trip(endpoint: &str) -> Result<f64> {
    let t = Instant::now();
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let resp = client
        .post(format!("{endpoint}/chat/completions"))
        .json(&serde_json::json!({
            "model": "bench", "stream": true, "temperature": 0.0,
            "messages": [{"role": "user", "content": "How soon must a safeguarding concern be written up?"}]
        }))
        .send()?;
    for line in BufReader::new(resp).lines() {
        if line?.starts_with("data:") {
            return Ok(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    bail!("the local server sent no data line")
}

/// Part 4: time from `ask` to its first streamed piece of text.
fn first_token(
    o: &mut impl Write,
    store: &mut Store,
    index: &mut DocIndex,
    questions: &[Question],
    n: usize,
) -> Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").context("bind a local port")?;
    let addr = listener.local_addr()?;
    // Detached: it serves until the benchmark exits.
    std::thread::spawn(move || serve(listener));
    let endpoint = format!("http://{addr}/v1");
    store.set_ai(&AiChange {
        endpoint: Some(&endpoint),
        model: Some("bench-model"),
        api_key: None,
    })?;
    let cancel = AtomicBool::new(false);
    let (mut asks, mut bare, mut client, mut search) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let owner = Viewer::of(store)?;
    // Alternate the two so both see the machine in the same state.
    for q in questions.iter().cycle().take(n) {
        let mut first: Option<Instant> = None;
        let t = Instant::now();
        let a = crm_documents::ask(
            store,
            index,
            &q.question,
            &mut |_| {
                if first.is_none() {
                    first = Some(Instant::now());
                }
            },
            &cancel,
        )?;
        let first = first.context("ask never called on_text")?;
        if a.model.is_none() {
            bail!(
                "{}: the answer did not come from the local model ({})",
                q.id,
                a.note.as_deref().unwrap_or("no note")
            );
        }
        asks.push(first.duration_since(t).as_secs_f64() * 1000.0);
        bare.push(bare_round_trip(addr)?);
        client.push(client_round_trip(&endpoint)?);
        // For reading the figure: the search ask does first, alone.
        let t = Instant::now();
        index.search(store, &owner, &q.question, crm_documents::SOURCES)?;
        search.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    for v in [&mut asks, &mut bare, &mut client, &mut search] {
        v.sort_by(f64::total_cmp);
    }
    writeln!(
        o,
        "\n4. time to first streamed token: ask() x{n} on the corpus profile, its AI endpoint a local OpenAI-style server\n   (std TcpListener, a thread; `stream: true` event stream), from the call to the first on_text"
    )?;
    writeln!(
        o,
        "  ask, to first token        : p50 {:>7.2} ms  p95 {:>7.2} ms",
        percentile(&asks, 0.5),
        percentile(&asks, 0.95)
    )?;
    writeln!(
        o,
        "  baseline, bare POST to the server, to its first data line: p50 {:>7.2} ms  p95 {:>7.2} ms",
        percentile(&bare, 0.5),
        percentile(&bare, 0.95)
    )?;
    writeln!(
        o,
        "  ratio p50 {:.1}, p95 {:.1}",
        ratio(percentile(&asks, 0.5), percentile(&bare, 0.5)),
        ratio(percentile(&asks, 0.95), percentile(&bare, 0.95)),
    )?;
    writeln!(
        o,
        "  where ask's time goes (each measured alone, same run): the search for its {} sources p50 {:.2} ms;\n  a new blocking reqwest client (as ask makes per question) POSTing to the server, to its first data line, p50 {:.2} ms",
        crm_documents::SOURCES,
        percentile(&search, 0.5),
        percentile(&client, 0.5)
    )?;
    Ok(())
}
