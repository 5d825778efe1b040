//! Embeds every `corpus/docs/*.txt` file, so adding a document to the
//! corpus is just adding a file: no list to keep in step by hand, and no
//! file paths needed at run time.

use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = env::var("CARGO_MANIFEST_DIR")?;
    let docs = Path::new(&manifest).join("corpus").join("docs");
    println!("cargo:rerun-if-changed={}", docs.display());
    let mut files = Vec::new();
    for entry in fs::read_dir(&docs)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "txt") {
            files.push(path);
        }
    }
    files.sort();
    let mut out = String::from("/// (id, source text) for every corpus document, sorted by id.\n");
    out.push_str("pub(crate) static CORPUS_FILES: &[(&str, &str)] = &[\n");
    for path in &files {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or("corpus file name is not UTF-8")?;
        let full = path.to_str().ok_or("corpus path is not UTF-8")?;
        writeln!(out, "    ({stem:?}, include_str!({full:?})),")?;
    }
    out.push_str("];\n");
    fs::write(
        Path::new(&env::var("OUT_DIR")?).join("corpus_files.rs"),
        out,
    )?;
    Ok(())
}
