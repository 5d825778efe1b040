//! `crm docs …` as an admin would type it: a folder of real PDF, Word,
//! HTML and Markdown files added (each read in a worker process), searched
//! and asked with sources (with a language model on a local server that
//! speaks OpenAI's protocol, and without one); a batch of hostile files
//! where each gets its own status and the rest are indexed; new versions,
//! publish and retire; and no passage text in any file of the profile.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crm_docs_fixtures::{corpus, hostile, Format};
use serde_json::Value;

const PASS: &str = "correct horse battery";

fn crm(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crm"));
    c.env("CRM_DATA_DIR", dir)
        .env("CRM_PASSPHRASE", PASS)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(Stdio::null());
    c
}

fn run(c: &mut Command) -> Output {
    c.output().expect("run crm")
}

fn ok(c: &mut Command) -> String {
    let o = run(c);
    assert!(
        o.status.success(),
        "crm failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(c: &mut Command) -> Value {
    serde_json::from_str(&ok(c)).expect("json")
}

fn init(dir: &Path) {
    ok(crm(dir).args(["init", "--key-store", "passphrase"]));
}

/// A corpus document by id, written into `dir` in its own format.
fn put(dir: &Path, id: &str) -> String {
    let d = corpus()
        .into_iter()
        .find(|d| d.id == id)
        .expect("corpus doc");
    std::fs::write(dir.join(d.file_name()), d.bytes()).unwrap();
    d.file_name()
}

#[test]
fn a_folder_of_real_files_is_searched_with_pages_and_asked_with_sources() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("profile");
    init(&profile);
    let input = tmp.path().join("library");
    std::fs::create_dir(&input).unwrap();
    let all = corpus();
    // One document of each format.
    let picked: Vec<_> = [Format::Pdf, Format::Docx, Format::Html, Format::Markdown]
        .into_iter()
        .map(|f| all.iter().find(|d| d.format == f).expect("format").clone())
        .collect();
    for d in &picked {
        std::fs::write(input.join(d.file_name()), d.bytes()).unwrap();
    }
    let added = ok(crm(&profile)
        .args(["docs", "add"])
        .arg(&input)
        .arg("--json"));
    let statuses: Vec<Value> = added
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(statuses.len(), 4, "{added}");
    assert!(statuses.iter().all(|s| s["status"] == "indexed"), "{added}");
    let list = json(crm(&profile).args(["docs", "list", "--json"]));
    assert_eq!(list.as_array().unwrap().len(), 4);

    // A PDF's passage names its page: search for a sentence of page 2.
    let pdf = &picked[0];
    let page2 = pdf.page_text(2).expect("page 2");
    let phrase: Vec<&str> = page2.split_whitespace().skip(12).take(8).collect();
    let query = format!("\"{}\"", phrase.join(" "));
    let hits = json(crm(&profile).args(["docs", "search", &query, "--json"]));
    let top = &hits[0];
    assert_eq!(top["file_name"], pdf.file_name().as_str(), "{hits}");
    assert_eq!(top["page"], 2, "{top}");
    for field in [
        "document_id",
        "title",
        "version",
        "heading",
        "text",
        "score",
    ] {
        assert!(!top[field].is_null(), "{field} in {top}");
    }
    // Up to 1,000 hits, best first.
    let many = json(crm(&profile).args(["docs", "search", "the", "--limit", "5000", "--json"]));
    let scores: Vec<f64> = many
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["score"].as_f64().unwrap())
        .collect();
    assert!(scores.len() <= 1000);
    assert!(scores.windows(2).all(|w| w[0] >= w[1]));

    // Without a model: the best passages, with their sources.
    let answer = json(crm(&profile).args(["docs", "ask", &phrase.join(" "), "--json"]));
    assert!(answer["model"].is_null());
    assert!(answer["note"]
        .as_str()
        .unwrap()
        .contains("no language model"));
    assert_eq!(answer["sources"][0]["page"], 2);
    assert!(answer["answer"].as_str().unwrap().starts_with("[1] "));

    // With a model on a local server speaking OpenAI's protocol: the
    // answer streams and cites the sources it was given.
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let seen = std::thread::spawn(move || {
        let (mut conn, _) = server.accept().unwrap();
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        write!(
            conn,
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
        )
        .unwrap();
        for piece in ["It is on ", "page two", " [1]."] {
            let chunk = serde_json::json!({"choices": [{"delta": {"content": piece}}]});
            write!(conn, "data: {chunk}\n\n").unwrap();
            conn.flush().unwrap();
        }
        write!(conn, "data: [DONE]\n\n").unwrap();
        String::from_utf8(body).unwrap()
    });
    ok(crm(&profile).args([
        "settings",
        "ai",
        "--endpoint",
        &format!("http://127.0.0.1:{port}/v1"),
        "--model",
        "local",
    ]));
    let streamed = ok(crm(&profile).args(["docs", "ask", &phrase.join(" ")]));
    assert!(streamed.starts_with("It is on page two [1]."), "{streamed}");
    assert!(streamed.contains("Sources:\n[1] "), "{streamed}");
    let request: Value = serde_json::from_str(&seen.join().unwrap()).unwrap();
    assert_eq!(request["stream"], true);
    assert_eq!(request["model"], "local");
    let prompt = request["messages"][1]["content"].as_str().unwrap();
    assert!(
        prompt.contains(&phrase.join(" ")),
        "the passages went to the model"
    );

    // Questions are kept and audited in the encrypted profile; no passage
    // text is in any file of the profile folder.
    let needle = phrase.join(" ");
    for entry in walk(&profile) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "plaintext in {}",
            entry.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn hostile_files_each_get_a_status_and_the_rest_of_the_batch_is_indexed() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("profile");
    init(&profile);
    let input = tmp.path().join("batch");
    std::fs::create_dir(&input).unwrap();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("01-scan.pdf", hostile::pdf_without_text_layer()),
        ("02-cycle.pdf", hostile::pdf_page_tree_cycle()),
        ("03-garbage.pdf", hostile::pdf_garbage_after_header()),
        ("04-bomb.docx", hostile::docx_zip_bomb()),
        ("05-not-a-zip.docx", hostile::docx_not_a_zip()),
        (
            "06-hostile.html",
            hostile::html_with_scripts_and_remote_images(),
        ),
        ("07-empty.txt", hostile::empty()),
        ("08-really-a-pdf.docx", hostile::pdf_named_docx()),
    ];
    for (name, bytes) in &files {
        std::fs::write(input.join(name), bytes).unwrap();
    }
    hostile::write_large_text_file(&input.join("09-huge.txt"), 200 << 20).unwrap();
    let good = put(&input, &corpus()[0].id);
    let started = std::time::Instant::now();
    let out = ok(crm(&profile)
        .args(["docs", "add"])
        .arg(&input)
        .arg("--json"));
    let by_name: std::collections::HashMap<String, Value> = out
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let name = Path::new(v["path"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, v)
        })
        .collect();
    assert_eq!(by_name.len(), 10, "{out}");
    let status = |n: &str| by_name[n]["status"].as_str().unwrap().to_string();
    let reason = |n: &str| by_name[n]["reason"].as_str().unwrap_or("").to_string();
    assert_eq!(status("01-scan.pdf"), "needs_ocr");
    assert!(reason("01-scan.pdf").contains("OCR"));
    assert_ne!(status("02-cycle.pdf"), "indexed", "{out}");
    assert_eq!(status("03-garbage.pdf"), "failed");
    assert_eq!(status("04-bomb.docx"), "failed");
    assert!(reason("04-bomb.docx").contains("zip bomb"), "{out}");
    assert_eq!(status("05-not-a-zip.docx"), "failed");
    assert_eq!(status("06-hostile.html"), "indexed");
    assert_eq!(status("07-empty.txt"), "failed");
    assert!(reason("07-empty.txt").contains("empty"));
    assert_eq!(
        status("08-really-a-pdf.docx"),
        "indexed",
        "the content decides the format"
    );
    assert_eq!(status("09-huge.txt"), "failed");
    assert!(reason("09-huge.txt").contains("200 MB"), "{out}");
    assert_eq!(status(&good), "indexed");
    assert!(
        started.elapsed().as_secs() < 120,
        "bounded: {:?}",
        started.elapsed()
    );
    // The scripts were dropped, the page's words kept; the PDF named .docx
    // is searchable.
    let s = |q: &str| json(crm(&profile).args(["docs", "search", q, "--json"]));
    assert_eq!(s(hostile::HTML_SCRIPT_STRING).as_array().unwrap().len(), 0);
    assert!(s(&format!(
        "\"{}\"",
        hostile::HTML_VISIBLE_SENTENCE.trim_end_matches('.')
    ))[0]["text"]
        .as_str()
        .unwrap()
        .contains("fire register"));
    assert!(!s(&format!(
        "\"{}\"",
        hostile::PDF_NAMED_DOCX_SENTENCE.trim_end_matches('.')
    ))
    .as_array()
    .unwrap()
    .is_empty());
    // The scan is kept as a draft flagged for OCR; publishing it is refused
    // with the reason.
    let scan_id = by_name["01-scan.pdf"]["document_id"]
        .as_str()
        .unwrap()
        .to_string();
    let o = run(crm(&profile).args(["docs", "publish", &scan_id]));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no readable version"));
}

#[test]
fn versions_publish_and_retire_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("profile");
    init(&profile);
    let input = tmp.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(
        input.join("lone-working.md"),
        "# Lone working\n\nCall the office every two hours.\n",
    )
    .unwrap();
    let added: Value = serde_json::from_str(
        ok(crm(&profile)
            .args([
                "docs",
                "add",
                "--draft",
                "--audience",
                "team:north",
                "--json",
            ])
            .arg(input.join("lone-working.md")))
        .trim(),
    )
    .unwrap();
    let id = added["document_id"].as_str().unwrap().to_string();
    let search = |q: &str| json(crm(&profile).args(["docs", "search", q, "--json"]));
    assert_eq!(
        search("office hours").as_array().unwrap().len(),
        0,
        "a draft is not searched"
    );
    ok(crm(&profile).args(["docs", "publish", &id]));
    assert_eq!(search("office hours")[0]["version"], 1);
    std::fs::write(
        input.join("lone-working.md"),
        "# Lone working\n\nCall the office every hour.\n",
    )
    .unwrap();
    ok(crm(&profile)
        .args(["docs", "add", "--note", "hourly calls"])
        .arg(input.join("lone-working.md")));
    let hits = search("office hour");
    assert_eq!(hits[0]["version"], 2);
    assert_eq!(
        hits.as_array().unwrap().len(),
        1,
        "only the live version is searched"
    );
    let versions = json(crm(&profile).args(["docs", "versions", &id, "--json"]));
    assert_eq!(versions[0]["live"], true);
    assert_eq!(versions[0]["change_note"], "hourly calls");
    assert_eq!(versions[1]["live"], false);
    // A plugin searches and reads passages with documents:read, in the
    // contract's shape, and not without it.
    let script = input.join("search.rhai");
    std::fs::write(
        &script,
        "let hits = documents::search(\"office hour\", 5);\n\
         let p = documents::passage(hits[0].passage_id);\n\
         #{n: hits.len(), version: p.version, text: p.text, file: p.file_name, start: p.start}",
    )
    .unwrap();
    let got: Value = serde_json::from_str(
        ok(crm(&profile)
            .args(["script", "run", "--grant", "documents:read"])
            .arg(&script))
        .trim(),
    )
    .unwrap();
    assert_eq!(got["n"], 1);
    assert_eq!(got["version"], 2);
    assert_eq!(got["file"], "lone-working.md");
    assert!(got["text"].as_str().unwrap().contains("every hour"));
    assert!(
        got["start"].is_null(),
        "only the contract's fields reach scripts: {got}"
    );
    let o = run(crm(&profile).args(["script", "run"]).arg(&script));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("needs the permission documents:read"),
        "{o:?}"
    );
    ok(crm(&profile).args(["docs", "retire", &id]));
    assert_eq!(search("office hour").as_array().unwrap().len(), 0);
    let o = run(crm(&profile)
        .args(["script", "run", "--grant", "documents:read"])
        .arg(&script));
    assert!(
        !o.status.success(),
        "a retired document is searched by no plugin either"
    );
    // Document control: owner and dates, checked and audited.
    ok(crm(&profile).args([
        "docs",
        "set",
        &id,
        "--owner",
        "Registered manager",
        "--review",
        "2027-06-30",
    ]));
    let listed = json(crm(&profile).args(["docs", "list", "--json"]));
    assert_eq!(listed[0]["owner"], "Registered manager");
    assert_eq!(listed[0]["review_date"], "2027-06-30");
    let o = run(crm(&profile).args(["docs", "set", &id, "--review", "30/06/2027"]));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--review: \"30/06/2027\" is not a date"),
        "{o:?}"
    );
    // Bad input is one line naming what is wrong.
    let o = run(crm(&profile)
        .args(["docs", "add", "--audience", "group:x"])
        .arg(input.join("lone-working.md")));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--audience") && err.contains("team:TEAM"),
        "{err}"
    );
    let o = run(crm(&profile).args(["docs", "versions", "nope"]));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no document with id nope"));
}
