//! Documents made in the repo for the documents library's tests and
//! benchmark.
//!
//! The library (search and question answering over an office's policies,
//! SOPs and guides) can only be measured against documents whose answers
//! are known down to the page, so this crate holds:
//!
//! - a tiny document model ([`SourceDoc`]) and writers that turn it into
//!   real PDF, DOCX, HTML and Markdown bytes ([`SourceDoc::bytes`]), so the
//!   extraction code is exercised on genuine files rather than on strings;
//! - a labelled corpus of UK care-office and insurance-agency documents with
//!   questions whose answer page is known ([`corpus()`], [`questions()`]);
//! - document-level ranking metrics to score a search run against those
//!   labels ([`metrics`]);
//! - hostile files for robustness tests ([`hostile`]).
//!
//! It deliberately depends on no `crm-*` crate under test: fixtures must
//! not move when the code under test does. Its one `crm-*` dependency,
//! `crm-report-pdf`, only writes PDFs (the PDF writer shares its font
//! metrics, WinAnsi encoding and word wrap).

pub mod corpus;
pub mod docx;
pub mod hostile;
pub mod html;
pub mod markdown;
pub mod metrics;
pub mod model;
pub mod pdf;

pub use corpus::{corpus, parse_source, questions, Answer, CorpusError, Judgement, Question};
pub use model::{Block, Format, SourceDoc};
