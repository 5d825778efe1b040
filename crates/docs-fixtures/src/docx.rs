//! DOCX writer: the smallest WordprocessingML package Word and LibreOffice
//! open without complaint.
//!
//! Headings use the built-in `Heading1`..`Heading3` style ids because that
//! is how extractors (and people) recognise structure in real Word files;
//! source pages are separated by an explicit page break run, the only page
//! information a DOCX carries before it is laid out.

use crate::model::{Block, SourceDoc};
use std::io::{Cursor, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// The package parts every writer in this crate uses, so the zip bomb in
/// [`crate::hostile`] looks like a normal document until it is inflated.
pub(crate) const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>"#;

pub(crate) const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/></Relationships>"#;

pub(crate) const DOCUMENT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#;

pub(crate) const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Calibri" w:hAnsi="Calibri" w:cs="Calibri"/><w:sz w:val="22"/><w:lang w:val="en-GB"/></w:rPr></w:rPrDefault></w:docDefaults><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:pPr><w:spacing w:after="160" w:line="259" w:lineRule="auto"/></w:pPr></w:style><w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:keepNext/><w:spacing w:before="240" w:after="120"/><w:outlineLvl w:val="0"/></w:pPr><w:rPr><w:b/><w:sz w:val="36"/></w:rPr></w:style><w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:keepNext/><w:spacing w:before="200" w:after="80"/><w:outlineLvl w:val="1"/></w:pPr><w:rPr><w:b/><w:sz w:val="28"/></w:rPr></w:style><w:style w:type="paragraph" w:styleId="Heading3"><w:name w:val="heading 3"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/><w:pPr><w:keepNext/><w:spacing w:before="160" w:after="60"/><w:outlineLvl w:val="2"/></w:pPr><w:rPr><w:b/><w:sz w:val="24"/></w:rPr></w:style></w:styles>"#;

/// Opening of `word/document.xml` up to the first paragraph.
pub(crate) const DOCUMENT_START: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:body>"#;

/// A4 portrait with 2.5 cm margins, then the end of the document.
pub(crate) const DOCUMENT_END: &str = r#"<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1418" w:right="1418" w:bottom="1418" w:left="1418" w:header="709" w:footer="709" w:gutter="0"/></w:sectPr></w:body></w:document>"#;

/// Escapes text for XML content and attribute values, and drops control
/// characters XML 1.0 forbids (a single one makes the part unreadable).
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

fn paragraph(out: &mut String, style: Option<&str>, text: &str) {
    out.push_str("<w:p>");
    if let Some(style) = style {
        out.push_str(&format!("<w:pPr><w:pStyle w:val=\"{style}\"/></w:pPr>"));
    }
    out.push_str("<w:r><w:t xml:space=\"preserve\">");
    out.push_str(&xml_escape(text));
    out.push_str("</w:t></w:r></w:p>");
}

/// The `word/document.xml` part for `doc`.
pub fn document_xml(doc: &SourceDoc) -> String {
    let mut out = String::from(DOCUMENT_START);
    for (i, blocks) in doc.pages.iter().enumerate() {
        if i > 0 {
            out.push_str("<w:p><w:r><w:br w:type=\"page\"/></w:r></w:p>");
        }
        for block in blocks {
            match block {
                Block::Heading { level, text } => {
                    let style = format!("Heading{}", (*level).clamp(1, 3));
                    paragraph(&mut out, Some(&style), text);
                }
                Block::Para(text) => paragraph(&mut out, None, text),
            }
        }
    }
    out.push_str(DOCUMENT_END);
    out
}

/// `docProps/core.xml`, which carries the title Word shows in File > Info.
pub(crate) fn core_xml(title: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>{}</dc:title><dc:creator>crm-docs-fixtures</dc:creator></cp:coreProperties>"#,
        xml_escape(title)
    )
}

/// Writes the package parts other than `word/document.xml`.
pub(crate) fn write_package_parts<W: Write + std::io::Seek>(
    zip: &mut ZipWriter<W>,
    title: &str,
) -> zip::result::ZipResult<()> {
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    // [Content_Types].xml first: some readers sniff the first entry.
    for (name, body) in [
        ("[Content_Types].xml", CONTENT_TYPES.to_string()),
        ("_rels/.rels", ROOT_RELS.to_string()),
        ("word/_rels/document.xml.rels", DOCUMENT_RELS.to_string()),
        ("word/styles.xml", STYLES.to_string()),
        ("docProps/core.xml", core_xml(title)),
    ] {
        zip.start_file(name, options)?;
        zip.write_all(body.as_bytes())?;
    }
    Ok(())
}

fn try_write(doc: &SourceDoc) -> zip::result::ZipResult<Vec<u8>> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    write_package_parts(&mut zip, &doc.title)?;
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    zip.start_file("word/document.xml", options)?;
    zip.write_all(document_xml(doc).as_bytes())?;
    Ok(zip.finish()?.into_inner())
}

/// Writes `doc` as a .docx package.
pub fn write(doc: &SourceDoc) -> Vec<u8> {
    // Only I/O errors can come out of a zip written to memory, and memory
    // does not fail that way.
    try_write(doc).expect("writing a zip into memory cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Format;
    use std::io::Read;

    fn doc() -> SourceDoc {
        SourceDoc {
            id: "d".into(),
            title: "Fees & <charges>".into(),
            format: Format::Docx,
            pages: vec![
                vec![
                    Block::Heading {
                        level: 1,
                        text: "Fees & charges".into(),
                    },
                    Block::Para("Pay £25 < 30 days \"now\"".into()),
                ],
                vec![Block::Heading {
                    level: 5,
                    text: "Deep".into(),
                }],
            ],
        }
    }

    #[test]
    fn package_has_the_required_parts() {
        let bytes = write(&doc());
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        for part in [
            "[Content_Types].xml",
            "_rels/.rels",
            "word/document.xml",
            "word/styles.xml",
            "word/_rels/document.xml.rels",
        ] {
            assert!(zip.by_name(part).is_ok(), "{part}");
        }
        let mut xml = String::new();
        zip.by_name("word/document.xml")
            .unwrap()
            .read_to_string(&mut xml)
            .unwrap();
        assert!(xml.contains("<w:pStyle w:val=\"Heading1\"/>"));
        assert!(xml.contains("<w:pStyle w:val=\"Heading3\"/>"));
        assert!(xml.contains("Fees &amp; charges"));
        assert!(xml.contains("Pay £25 &lt; 30 days &quot;now&quot;"));
        assert_eq!(xml.matches("<w:br w:type=\"page\"/>").count(), 1);
        let mut styles = String::new();
        zip.by_name("word/styles.xml")
            .unwrap()
            .read_to_string(&mut styles)
            .unwrap();
        for id in ["Heading1", "Heading2", "Heading3"] {
            assert!(styles.contains(&format!("w:styleId=\"{id}\"")));
        }
    }

    #[test]
    fn xml_escape_drops_forbidden_controls() {
        assert_eq!(xml_escape("a\u{1}b'"), "ab&apos;");
    }
}
