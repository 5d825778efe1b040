//! The search index: `tantivy`, in memory, kept up to date by the store's
//! change counter (`documents_docs.seq`). Nothing of it is ever written to
//! a file: its segments are kept inside the encrypted store after each
//! change of the library (`saved.rs`) and loaded from there when first
//! needed, else it is built from the store's passages; a saved index that
//! cannot be read is built again, so the store's documents are the one
//! copy and the index a view of them.
//!
//! Ranking is BM25 (k1 1.2, b 0.75, as Lucene) over English text: words
//! lower-cased, accents folded, stop words dropped, Snowball-stemmed.
//! Each passage is matched on its text and, more weakly, on its
//! document's title and heading path. A quoted phrase must appear as
//! written. A longer word the library has never seen (a typo) matches
//! words one or two edits away. The audience filter is a clause of the
//! query itself, so a page of results is never short of what a person may
//! see, and never holds what they may not.

use std::collections::{HashMap, HashSet};

use crm_core::Store;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, StopWordFilter,
    TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::model::{Hit, Result};
use crate::viewer::Viewer;

/// The analyzer's registered name.
pub(crate) const ANALYZER: &str = "crm_en";
/// Weight of a match in the title or headings against one in the text
/// (0.5, 0.25 and 0.1 measured on the labelled set: nDCG@10 0.910, 0.919,
/// 0.914; generic headings such as "What we must do" outranked the rare
/// word of the question at 0.5).
const CONTEXT_BOOST: f32 = 0.25;
/// Score of a passage matching a misspelt word (a constant: tantivy's
/// fuzzy matches are not BM25-scored).
const FUZZY_SCORE: f32 = 1.5;
/// At most this many hits.
pub const MAX_HITS: usize = 1000;

/// A document changed since the last catch-up: id, seq, live version,
/// status, audience (JSON).
type Changed = (String, i64, Option<i64>, String, String);
/// The query's analyzed words.
type Stems = HashSet<String>;

pub(crate) struct Fields {
    pub(crate) pid: Field,
    pub(crate) doc: Field,
    pub(crate) audience: Field,
    pub(crate) body: Field,
    pub(crate) context: Field,
}

/// The index of the published documents' live versions.
pub struct DocIndex {
    pub(crate) index: Index,
    pub(crate) reader: IndexReader,
    pub(crate) fields: Fields,
    /// The store's change counter this index has caught up with.
    pub(crate) seq: i64,
    /// Passages indexed.
    pub(crate) passages: u64,
}

/// The index's schema and its fields.
pub(crate) fn schema() -> (Schema, Fields) {
    let mut schema = Schema::builder();
    let text = |positions: bool| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(if positions {
                    IndexRecordOption::WithFreqsAndPositions
                } else {
                    IndexRecordOption::WithFreqs
                }),
        )
    };
    let fields = Fields {
        pid: schema.add_u64_field("pid", NumericOptions::default().set_fast()),
        doc: schema.add_text_field("doc", STRING),
        audience: schema.add_text_field("audience", STRING),
        body: schema.add_text_field("body", text(true)),
        context: schema.add_text_field("context", text(false)),
    };
    (schema.build(), fields)
}

pub(crate) fn analyzer() -> TextAnalyzer {
    let builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter);
    match StopWordFilter::new(Language::English) {
        Some(stop) => builder.filter(stop).filter(CachedStemmer).build(),
        None => builder.filter(CachedStemmer).build(),
    }
}

/// Snowball English stemming, each word stemmed once per indexing thread:
/// stemming was nearly half the time of building the index (1.97 s → 1.39 s
/// at 100,000 passages), and a library's vocabulary is small next to its
/// word count.
#[derive(Clone, Copy)]
struct CachedStemmer;

/// Words kept stemmed per thread before the cache starts afresh.
const STEM_CACHE: usize = 200_000;

impl TokenFilter for CachedStemmer {
    type Tokenizer<T: Tokenizer> = CachedStemFilter<T>;

    fn transform<T: Tokenizer>(self, inner: T) -> CachedStemFilter<T> {
        CachedStemFilter {
            inner,
            cache: HashMap::new(),
        }
    }
}

#[derive(Clone)]
struct CachedStemFilter<T> {
    inner: T,
    cache: HashMap<String, String>,
}

impl<T: Tokenizer> Tokenizer for CachedStemFilter<T> {
    type TokenStream<'a> = CachedStemStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        if self.cache.len() > STEM_CACHE {
            self.cache.clear();
        }
        CachedStemStream {
            tail: self.inner.token_stream(text),
            cache: &mut self.cache,
        }
    }
}

struct CachedStemStream<'a, T> {
    tail: T,
    cache: &'a mut HashMap<String, String>,
}

thread_local! {
    static STEMMER: frostem::Stemmer = frostem::Stemmer::new(frostem::Algorithm::English);
}

impl<T: TokenStream> TokenStream for CachedStemStream<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        let stem = match self.cache.get(&token.text) {
            Some(stem) => stem.clone(),
            None => {
                let stem = STEMMER.with(|s| s.stem(&token.text).into_owned());
                self.cache.insert(token.text.clone(), stem.clone());
                stem
            }
        };
        token.text = stem;
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

impl DocIndex {
    /// The index of the store's library: the one saved in the store when
    /// there is one that can be read (then caught up), else built from the
    /// store's passages (empty when the profile holds no documents yet).
    pub fn open(store: &Store) -> Result<DocIndex> {
        if let Some(mut me) = crate::saved::load(store) {
            if me.catch_up(store).is_ok() {
                return Ok(me);
            }
        }
        Self::build(store)
    }

    /// Build the index from the store's passages, ignoring any saved one.
    pub fn build(store: &Store) -> Result<DocIndex> {
        let (schema, fields) = schema();
        let index = Index::create_in_ram(schema);
        let mut me = Self::over(index, fields)?;
        me.catch_up(store)?;
        Ok(me)
    }

    /// An index over `index` (made here, or loaded), caught up with nothing.
    pub(crate) fn over(index: Index, fields: Fields) -> Result<DocIndex> {
        index.tokenizers().register(ANALYZER, analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(DocIndex {
            index,
            reader,
            fields,
            seq: 0,
            passages: 0,
        })
    }

    /// Passages in the index.
    pub fn passages(&self) -> u64 {
        self.passages
    }

    fn writer(&self) -> Result<IndexWriter> {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get().min(4))
            .unwrap_or(1);
        Ok(self
            .index
            .writer_with_num_threads(threads, 40_000_000 * threads)?)
    }

    /// Bring the index up to date with the store: every document changed
    /// since the last catch-up is taken out and its live version (if it is
    /// published) put back, in one commit. A search sees the old version
    /// or the new one, never neither nor both.
    pub fn catch_up(&mut self, store: &Store) -> Result<()> {
        if !crate::schema::installed(store)? {
            return Ok(());
        }
        let from = self.seq;
        // One statement, one snapshot: the counter caught up with is the
        // highest among the rows read, so a change written meanwhile is
        // read at the next catch-up, never skipped.
        let changed: Vec<Changed> = store.feature_read(|c| {
            let mut st = c.prepare(
                "SELECT id, seq, live_version, status, audience FROM documents_docs \
                     WHERE seq > ?1 ORDER BY seq",
            )?;
            let rows = st
                .query_map([from], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })?;
        let Some(top) = changed.last().map(|c| c.1) else {
            return Ok(());
        };
        let mut writer = self.writer()?;
        let f = &self.fields;
        let mut added = 0u64;
        let mut removed = 0u64;
        for (id, _, live, status, audience) in &changed {
            if from > 0 {
                removed += self.count_doc(id)?;
                writer.delete_term(Term::from_field_text(f.doc, id));
            }
            let (Some(version), "published") = (live, status.as_str()) else {
                continue;
            };
            let audience: Vec<String> = serde_json::from_str(audience).unwrap_or_default();
            let rows = crate::read::passages_of(store, id, *version)?;
            for (pid, context, body) in rows {
                let mut d = TantivyDocument::new();
                d.add_u64(f.pid, pid as u64);
                d.add_text(f.doc, id);
                for a in &audience {
                    d.add_text(f.audience, a);
                }
                d.add_text(f.body, &body);
                d.add_text(f.context, &context);
                writer.add_document(d)?;
                added += 1;
            }
        }
        writer.commit()?;
        drop(writer);
        self.reader.reload()?;
        self.passages = self.passages + added - removed.min(self.passages + added);
        self.seq = top;
        Ok(())
    }

    fn count_doc(&self, id: &str) -> Result<u64> {
        let searcher = self.reader.searcher();
        Ok(searcher.doc_freq(&Term::from_field_text(self.fields.doc, id))?)
    }

    /// The analyzed words of `text`: (position, word).
    fn words(&self, text: &str) -> Vec<(usize, String)> {
        let mut a = analyzer();
        let mut stream = a.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            out.push((t.position, t.text.clone()));
        }
        out
    }

    /// The passages best matching `question` that `viewer` may see, best
    /// first (at most `limit`, at most [`MAX_HITS`]).
    pub fn search(
        &mut self,
        store: &Store,
        viewer: &Viewer,
        question: &str,
        limit: usize,
    ) -> Result<Vec<Hit>> {
        self.catch_up(store)?;
        let limit = limit.clamp(1, MAX_HITS);
        let Some((query, stems)) = self.query(viewer, question)? else {
            return Ok(Vec::new());
        };
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &query,
            &tantivy::collector::TopDocs::with_limit(limit).order_by_score(),
        )?;
        let mut ranked: Vec<(i64, f32)> = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let pids = searcher
                .segment_reader(addr.segment_ord)
                .fast_fields()
                .u64("pid")?;
            if let Some(pid) = pids.first(addr.doc_id) {
                ranked.push((pid as i64, score));
            }
        }
        let mut hits = crate::read::hits(store, viewer, &ranked)?;
        for h in &mut hits {
            h.highlights = self.highlights(&h.text, &stems);
        }
        Ok(hits)
    }

    /// Character ranges of `text` whose words are among `stems`.
    pub(crate) fn highlights(&self, text: &str, stems: &HashSet<String>) -> Vec<(usize, usize)> {
        let mut a = analyzer();
        let mut stream = a.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            if stems.contains(&t.text) {
                out.push((t.offset_from, t.offset_to));
            }
        }
        // Byte offsets to characters, in one pass.
        let mut chars = 0usize;
        let mut byte = 0usize;
        let mut to_char = |b: usize| {
            chars += text.get(byte..b).map_or(0, |s| s.chars().count());
            byte = b.max(byte);
            chars
        };
        out.into_iter()
            .map(|(s, e)| {
                let cs = to_char(s);
                let ce = to_char(e);
                (cs, ce)
            })
            .collect()
    }

    /// The query for `question` as `viewer`, and its words (for
    /// highlighting); `None` when it has no searchable word.
    fn query(&self, viewer: &Viewer, question: &str) -> Result<Option<(Box<dyn Query>, Stems)>> {
        let f = &self.fields;
        let searcher = self.reader.searcher();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut stems = HashSet::new();
        // Odd pieces between double quotes are phrases.
        for (i, piece) in question.split('"').enumerate() {
            let words = self.words(piece);
            let phrase = i % 2 == 1;
            if phrase && words.len() > 1 {
                let first = words[0].0;
                let terms = words
                    .iter()
                    .map(|(p, w)| (p - first, Term::from_field_text(f.body, w)))
                    .collect();
                clauses.push((Occur::Must, Box::new(PhraseQuery::new_with_offset(terms))));
                stems.extend(words.into_iter().map(|(_, w)| w));
                continue;
            }
            for (_, w) in words {
                let in_body = Term::from_field_text(f.body, &w);
                let in_context = Term::from_field_text(f.context, &w);
                let known = searcher.doc_freq(&in_body)? + searcher.doc_freq(&in_context)? > 0;
                let occur = if phrase { Occur::Must } else { Occur::Should };
                if known || w.chars().count() < 5 {
                    let q: Vec<(Occur, Box<dyn Query>)> = vec![
                        (
                            Occur::Should,
                            Box::new(TermQuery::new(in_body, IndexRecordOption::WithFreqs)),
                        ),
                        (
                            Occur::Should,
                            Box::new(BoostQuery::new(
                                Box::new(TermQuery::new(in_context, IndexRecordOption::WithFreqs)),
                                CONTEXT_BOOST,
                            )),
                        ),
                    ];
                    clauses.push((occur, Box::new(BooleanQuery::new(q))));
                } else {
                    let distance = if w.chars().count() >= 9 { 2 } else { 1 };
                    clauses.push((
                        occur,
                        Box::new(BoostQuery::new(
                            Box::new(FuzzyTermQuery::new(in_body, distance, true)),
                            FUZZY_SCORE,
                        )),
                    ));
                }
                stems.insert(w);
            }
        }
        if clauses.is_empty() {
            return Ok(None);
        }
        let mut all: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Must, Box::new(BooleanQuery::new(clauses)))];
        if !viewer.admin {
            let allowed: Vec<(Occur, Box<dyn Query>)> = viewer
                .terms
                .iter()
                .map(|t| -> (Occur, Box<dyn Query>) {
                    (
                        Occur::Should,
                        Box::new(TermQuery::new(
                            Term::from_field_text(f.audience, t),
                            IndexRecordOption::Basic,
                        )),
                    )
                })
                .collect();
            all.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(
                    Box::new(BooleanQuery::new(allowed)),
                    0.0,
                )),
            ));
        }
        Ok(Some((Box::new(BooleanQuery::new(all)), stems)))
    }
}

/// One index per process, for callers that cannot keep their own (a
/// plugin's `documents::search`): built on first use, caught up at every
/// search, rebuilt when another profile is asked.
static SHARED: std::sync::Mutex<Option<(std::path::PathBuf, DocIndex)>> =
    std::sync::Mutex::new(None);

/// Run `f` on the process's shared index of `store` (opened on first use).
pub(crate) fn with_shared<T>(
    store: &Store,
    f: impl FnOnce(&mut DocIndex, &Store) -> Result<T>,
) -> Result<T> {
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    let fresh = !matches!(&*shared, Some((path, _)) if path == store.path());
    if fresh {
        *shared = Some((store.path().to_path_buf(), DocIndex::open(store)?));
    }
    match shared.as_mut() {
        Some((_, index)) => f(index, store),
        None => Err(crate::model::DocsError::Index("no index".into())),
    }
}

/// Keep the shared index of `store` in the store.
pub(crate) fn save_shared(store: &mut Store) -> Result<()> {
    let shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    match &*shared {
        Some((path, index)) if path == store.path() => index.save(store),
        _ => Ok(()),
    }
}

/// [`DocIndex::search`] on the process's shared index of `store`.
pub fn search_shared(
    store: &Store,
    viewer: &Viewer,
    question: &str,
    limit: usize,
) -> Result<Vec<Hit>> {
    with_shared(store, |index, store| {
        index.search(store, viewer, question, limit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(a: &mut TextAnalyzer, text: &str) -> Vec<String> {
        let mut stream = a.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            out.push(t.text.clone());
        }
        out
    }

    #[test]
    fn cached_stems_are_tantivys_snowball_stems() {
        let text = "The carers reported the reporting of falls; policies, policy and Policies.";
        let mut theirs = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
            .filter(StopWordFilter::new(Language::English).expect("stop words"))
            .filter(tantivy::tokenizer::Stemmer::new(Language::English))
            .build();
        let mut ours = analyzer();
        let want = tokens(&mut theirs, text);
        assert_eq!(tokens(&mut ours, text), want);
        // Again, from the cache.
        assert_eq!(tokens(&mut ours, text), want);
        assert!(want.contains(&"polici".to_string()), "{want:?}");
    }
}
