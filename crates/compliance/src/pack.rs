//! The inspector's evidence pack: a PDF (and a CSV of the same figures)
//! arranged by the CQC's key questions and quality statements: the
//! policies evidencing each, training compliance per course with a chart,
//! DBS and right-to-work standing (never a full certificate or document
//! number), supervision compliance, and the gaps. Made from the local store
//! alone: offline, in seconds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use crm_core::Store;
use crm_report_pdf::Report;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::checks::masked;
use crate::dates::{stored, text, Standing};
use crate::error::{ComplianceError, Result};
use crate::policies::{Policy, KEY_QUESTIONS};
use crate::schema::installed;
use crate::staff::StaffQuery;
use crate::training::percent;
use crate::who::Access;

/// A policy as the pack shows it.
#[derive(Clone, Debug, Serialize)]
pub struct PolicyLine {
    /// Title.
    pub title: String,
    /// Policy or SOP.
    pub kind: String,
    /// Version in force.
    pub version: Option<i64>,
    /// Approved by, on.
    pub approval: String,
    /// Last review.
    pub last_review: Option<String>,
    /// Next review.
    pub next_review: String,
    /// Review overdue.
    pub review_overdue: bool,
    /// People who acknowledged / people assigned.
    pub acknowledged: usize,
    /// People assigned.
    pub assigned: usize,
    /// Percent acknowledged.
    pub ack_percent: f64,
}

/// One quality statement's part of the pack.
#[derive(Clone, Debug, Serialize)]
pub struct StatementPart {
    /// Code, e.g. `S3`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Policies in force that evidence it.
    pub policies: Vec<PolicyLine>,
}

/// One key question's part.
#[derive(Clone, Debug, Serialize)]
pub struct KeyQuestionPart {
    /// `safe`, …
    pub id: String,
    /// `Safe`, …
    pub name: String,
    /// Its statements.
    pub statements: Vec<StatementPart>,
}

/// Training compliance for one course.
#[derive(Clone, Debug, Serialize)]
pub struct CourseLine {
    /// The course.
    pub course: String,
    /// Valid.
    pub valid: usize,
    /// Due within 60 days.
    pub due_soon: usize,
    /// Expired.
    pub expired: usize,
    /// Never done.
    pub missing: usize,
    /// In date, percent.
    pub percent: f64,
}

/// One person's vetting, as an inspector may see it.
#[derive(Clone, Debug, Serialize)]
pub struct VettingLine {
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// DBS: level, issue date, the certificate's last four characters.
    pub dbs: String,
    /// DBS standing.
    pub dbs_standing: Standing,
    /// Right to work: document type and expiry.
    pub right_to_work: String,
    /// Right to work standing.
    pub rtw_standing: Standing,
}

/// One person's supervision.
#[derive(Clone, Debug, Serialize)]
pub struct SupervisionLine {
    /// Name.
    pub name: String,
    /// Last held.
    pub last: Option<String>,
    /// Next due.
    pub next_due: Option<String>,
    /// Standing.
    pub standing: Standing,
}

/// Everything in the pack.
#[derive(Clone, Debug, Serialize)]
pub struct Pack {
    /// The day it describes.
    pub today: String,
    /// By key question and statement.
    pub key_questions: Vec<KeyQuestionPart>,
    /// Training per course.
    pub training: Vec<CourseLine>,
    /// Staff in post.
    pub staff: usize,
    /// Vetting per person.
    pub vetting: Vec<VettingLine>,
    /// Supervision per person.
    pub supervision: Vec<SupervisionLine>,
    /// Supervision in date, percent.
    pub supervision_percent: f64,
    /// Read-and-sign across all policies, percent (100 with none assigned).
    pub ack_percent: f64,
    /// People asked to read and sign, summed over policies.
    pub ack_assigned: usize,
    /// Training across all courses, percent of cells in date.
    pub training_percent: f64,
    /// What is missing or lapsed, one sentence each.
    pub gaps: Vec<String>,
}

fn policy_line(store: &Store, p: &Policy, today: NaiveDate) -> Result<PolicyLine> {
    let st = crate::readsign::status(store, &p.doc_id, today)?;
    Ok(PolicyLine {
        title: p.title.clone(),
        kind: if p.kind == "sop" {
            "SOP".into()
        } else {
            "Policy".into()
        },
        version: p.live_version,
        approval: match (&p.approved_by, &p.approved_at) {
            (Some(by), Some(at)) => format!("approved by {by} on {}", at.get(..10).unwrap_or(at)),
            _ => "not approved".into(),
        },
        last_review: p.last_review.clone(),
        next_review: p.next_review.clone(),
        review_overdue: p.review == Standing::Expired,
        acknowledged: st.done,
        assigned: st.people.len(),
        ack_percent: st.percent,
    })
}

/// Gather the pack for `today` (admins: it covers every member of staff).
pub fn build(store: &mut Store, today: NaiveDate) -> Result<Pack> {
    Access::of(store)?.check_admin("make the evidence pack")?;
    crate::schema::install(store)?;
    let dash = crate::policies::dashboard(store, today)?;
    let policies = crate::policies::list(store, today)?;
    let mut lines: HashMap<String, PolicyLine> = HashMap::new();
    for p in policies
        .iter()
        .filter(|p| p.status == crm_documents::DocStatus::Published)
    {
        lines.insert(p.doc_id.clone(), policy_line(store, p, today)?);
    }
    let mut gaps = Vec::new();
    let key_questions = KEY_QUESTIONS
        .iter()
        .map(|(id, name)| KeyQuestionPart {
            id: (*id).into(),
            name: (*name).into(),
            statements: dash
                .coverage
                .iter()
                .filter(|c| c.statement.key_question == *id)
                .map(|c| {
                    if c.current.is_empty() {
                        gaps.push(format!(
                            "{} {} ({name}): no policy in force evidences it",
                            c.statement.id, c.statement.name
                        ));
                    }
                    StatementPart {
                        id: c.statement.id.clone(),
                        name: c.statement.name.clone(),
                        policies: c
                            .current
                            .iter()
                            .filter_map(|d| lines.get(d).cloned())
                            .collect(),
                    }
                })
                .collect(),
        })
        .collect();
    for p in &dash.overdue {
        gaps.push(format!(
            "Policy \"{}\" was due for review on {}",
            p.title, p.next_review
        ));
    }
    let mut all_done = 0;
    let mut all_assigned = 0;
    let mut titles: Vec<&PolicyLine> = lines.values().collect();
    titles.sort_by(|a, b| a.title.cmp(&b.title));
    for l in titles {
        all_done += l.acknowledged;
        all_assigned += l.assigned;
        if l.acknowledged < l.assigned {
            gaps.push(format!(
                "Policy \"{}\": {} of {} staff have not acknowledged it",
                l.title,
                l.assigned - l.acknowledged,
                l.assigned
            ));
        }
    }
    // Training.
    let m = crate::training::matrix(store, &Default::default(), today)?;
    let training: Vec<CourseLine> = m
        .courses
        .iter()
        .zip(&m.totals)
        .map(|(c, t)| CourseLine {
            course: c.name.clone(),
            valid: t.valid,
            due_soon: t.due_soon,
            expired: t.expired,
            missing: t.missing,
            percent: t.compliant_percent,
        })
        .collect();
    for t in &training {
        if t.expired + t.missing > 0 {
            gaps.push(format!(
                "{}: {} expired, {} never done",
                t.course, t.expired, t.missing
            ));
        }
    }
    let cells: usize = training
        .iter()
        .map(|t| t.valid + t.due_soon + t.expired + t.missing)
        .sum();
    let in_date: usize = training.iter().map(|t| t.valid + t.due_soon).sum();
    // Vetting and supervision, read in bulk.
    let staff = crate::staff::list(store, &StaffQuery::default())?;
    let (checks, last_met) = bulk(store)?;
    let mut vetting = Vec::with_capacity(staff.len());
    let mut supervision = Vec::with_capacity(staff.len());
    for s in &staff {
        let get = |item: &str| checks.get(&(s.id.clone(), item.to_string()));
        let (dbs, dbs_standing) = match get("dbs") {
            Some((status, d)) if status != "missing" => {
                let field = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                let standing = standing_of("dbs", status, d, today);
                let number = d
                    .get("certificate_number")
                    .and_then(Value::as_str)
                    .map(masked)
                    .unwrap_or_default();
                let update = if d.get("update_service").and_then(Value::as_bool) == Some(true) {
                    ", Update Service"
                } else {
                    ""
                };
                (
                    format!(
                        "{} issued {} {number}{update}",
                        field("level"),
                        field("issue_date")
                    )
                    .trim()
                    .to_string(),
                    standing,
                )
            }
            _ => ("none recorded".into(), Standing::Missing),
        };
        let (right_to_work, rtw_standing) = match get("right_to_work") {
            Some((status, d)) if status != "missing" => {
                let kind = d
                    .get("document_type")
                    .and_then(Value::as_str)
                    .unwrap_or("checked");
                let until = d
                    .get("expiry")
                    .and_then(Value::as_str)
                    .map_or("no time limit".to_string(), |e| format!("until {e}"));
                (
                    format!("{kind}, {until}"),
                    standing_of("right_to_work", status, d, today),
                )
            }
            _ => ("none recorded".into(), Standing::Missing),
        };
        if !dbs_standing.compliant() {
            gaps.push(format!(
                "{}: DBS check {}",
                s.name,
                if dbs_standing == Standing::Missing {
                    "not recorded"
                } else {
                    "recheck overdue"
                }
            ));
        }
        if !rtw_standing.compliant() {
            gaps.push(format!(
                "{}: right to work {}",
                s.name,
                if rtw_standing == Standing::Missing {
                    "not recorded"
                } else {
                    "expired"
                }
            ));
        }
        vetting.push(VettingLine {
            name: s.name.clone(),
            role: s.role.clone(),
            dbs,
            dbs_standing,
            right_to_work,
            rtw_standing,
        });
        let start = stored(Some(&s.start_date)).unwrap_or(today);
        let last = last_met.get(&s.id).cloned();
        let due = crate::supervision::next_due("supervision", stored(last.as_deref()), start, s);
        let standing = match due {
            Some(d) if d < today => Standing::Expired,
            _ => Standing::Valid,
        };
        if standing == Standing::Expired {
            gaps.push(format!(
                "{}: supervision overdue since {}",
                s.name,
                due.map(text).unwrap_or_default()
            ));
        }
        supervision.push(SupervisionLine {
            name: s.name.clone(),
            last,
            next_due: due.map(text),
            standing,
        });
    }
    let sup_ok = supervision
        .iter()
        .filter(|s| s.standing.compliant())
        .count();
    Ok(Pack {
        today: text(today),
        key_questions,
        training,
        staff: staff.len(),
        supervision_percent: percent(sup_ok, supervision.len()),
        vetting,
        supervision,
        ack_percent: percent(all_done, all_assigned),
        ack_assigned: all_assigned,
        training_percent: percent(in_date, cells),
        gaps,
    })
}

fn standing_of(item: &str, status: &str, d: &Map<String, Value>, today: NaiveDate) -> Standing {
    match status {
        "not_required" => Standing::Valid,
        "missing" => Standing::Missing,
        _ => crate::dates::standing(crate::checks::expires(item, d), today),
    }
}

type Checks = HashMap<(String, String), (String, Map<String, Value>)>;

fn bulk(store: &Store) -> Result<(Checks, HashMap<String, String>)> {
    if !installed(store)? {
        return Ok((HashMap::new(), HashMap::new()));
    }
    Ok(store.feature_read(|c| {
        let mut checks = HashMap::new();
        let mut st = c.prepare("SELECT staff_id, item, status, details FROM compliance_checks WHERE item IN ('dbs', 'right_to_work')")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let details: String = r.get(3)?;
            checks.insert((r.get(0)?, r.get(1)?), (r.get(2)?, serde_json::from_str(&details).unwrap_or_default()));
        }
        let mut met = HashMap::new();
        let mut st = c.prepare("SELECT staff_id, max(date) FROM compliance_supervisions WHERE kind = 'supervision' GROUP BY staff_id")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            met.insert(r.get(0)?, r.get(1)?);
        }
        Ok((checks, met))
    })?)
}

fn standing_word(s: Standing) -> &'static str {
    match s {
        Standing::Valid => "in date",
        Standing::DueSoon => "due soon",
        Standing::Expired => "lapsed",
        Standing::Missing => "missing",
    }
}

fn pct(v: f64) -> String {
    format!("{v:.1}%")
}

/// The pack as a PDF.
pub fn pdf(pack: &Pack, organisation: &str) -> Vec<u8> {
    let mut r = Report::new(&format!("CQC evidence pack: {organisation}"));
    r.paragraph(&format!(
        "Made on {} from the office's records. Staff in post: {}. Read-and-sign: {}. \
         Training in date: {}. Supervision in date: {}. DBS and right-to-work numbers are shown by \
         their last four characters only.",
        pack.today,
        pack.staff,
        if pack.ack_assigned == 0 {
            "no policy is assigned to read yet".to_string()
        } else {
            format!("{} acknowledged", pct(pack.ack_percent))
        },
        pct(pack.training_percent),
        pct(pack.supervision_percent)
    ));
    for kq in &pack.key_questions {
        r.heading(1, &kq.name);
        for s in &kq.statements {
            r.heading(2, &format!("{} {}", s.id, s.name));
            if s.policies.is_empty() {
                r.paragraph("No policy in force evidences this statement (see Gaps).");
                continue;
            }
            let rows: Vec<Vec<String>> = s
                .policies
                .iter()
                .map(|p| {
                    vec![
                        format!("{} ({})", p.title, p.kind),
                        p.version.map_or("-".into(), |v| format!("v{v}")),
                        p.approval.clone(),
                        format!(
                            "{} (next {}{})",
                            p.last_review.clone().unwrap_or_else(|| "-".into()),
                            p.next_review,
                            if p.review_overdue { ", OVERDUE" } else { "" }
                        ),
                        format!("{} ({}/{})", pct(p.ack_percent), p.acknowledged, p.assigned),
                    ]
                })
                .collect();
            r.table(
                &[
                    "Policy",
                    "Version",
                    "Approval",
                    "Last review",
                    "Acknowledged",
                ],
                &[0.32, 0.1, 0.22, 0.2, 0.16],
                &rows,
            );
        }
    }
    r.page_break();
    r.heading(1, "Training compliance");
    r.bar_chart(
        "In date per course (percent of staff)",
        &pack
            .training
            .iter()
            .map(|t| (t.course.clone(), t.percent))
            .collect::<Vec<_>>(),
    );
    let rows: Vec<Vec<String>> = pack
        .training
        .iter()
        .map(|t| {
            vec![
                t.course.clone(),
                t.valid.to_string(),
                t.due_soon.to_string(),
                t.expired.to_string(),
                t.missing.to_string(),
                pct(t.percent),
            ]
        })
        .collect();
    r.table(
        &[
            "Course", "Valid", "Due soon", "Expired", "Missing", "In date",
        ],
        &[0.44, 0.1, 0.12, 0.11, 0.11, 0.12],
        &rows,
    );
    r.heading(1, "DBS and right to work");
    let rows: Vec<Vec<String>> = pack
        .vetting
        .iter()
        .map(|v| {
            vec![
                v.name.clone(),
                v.role.clone(),
                format!("{} ({})", v.dbs, standing_word(v.dbs_standing)),
                format!("{} ({})", v.right_to_work, standing_word(v.rtw_standing)),
            ]
        })
        .collect();
    r.table(
        &["Name", "Role", "DBS", "Right to work"],
        &[0.22, 0.14, 0.36, 0.28],
        &rows,
    );
    r.heading(1, "Supervision");
    r.paragraph(&format!(
        "{} of staff are within their supervision schedule.",
        pct(pack.supervision_percent)
    ));
    let rows: Vec<Vec<String>> = pack
        .supervision
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.last.clone().unwrap_or_else(|| "none yet".into()),
                s.next_due.clone().unwrap_or_else(|| "no schedule".into()),
                standing_word(s.standing).into(),
            ]
        })
        .collect();
    r.table(
        &["Name", "Last supervision", "Next due", "Standing"],
        &[0.34, 0.22, 0.22, 0.22],
        &rows,
    );
    r.heading(1, "Gaps");
    if pack.gaps.is_empty() {
        r.paragraph("None found.");
    }
    for g in &pack.gaps {
        r.paragraph(&format!("- {g}"));
    }
    r.finish()
}

/// The pack's figures as CSV: one line per figure, by section.
pub fn csv(pack: &Pack) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| ComplianceError::Pack(e.to_string());
    w.write_record([
        "section",
        "key_question",
        "statement",
        "item",
        "measure",
        "value",
    ])
    .map_err(err)?;
    for kq in &pack.key_questions {
        for s in &kq.statements {
            if s.policies.is_empty() {
                w.write_record(["policies", &kq.name, &s.id, "", "policies in force", "0"])
                    .map_err(err)?;
            }
            for p in &s.policies {
                let v = p.version.map(|v| v.to_string()).unwrap_or_default();
                for (measure, value) in [
                    ("version", v.as_str()),
                    ("approval", p.approval.as_str()),
                    ("last review", p.last_review.as_deref().unwrap_or("")),
                    ("next review", p.next_review.as_str()),
                    ("acknowledged percent", &format!("{:.1}", p.ack_percent)),
                ] {
                    w.write_record(["policies", &kq.name, &s.id, &p.title, measure, value])
                        .map_err(err)?;
                }
            }
        }
    }
    for t in &pack.training {
        for (measure, value) in [
            ("valid", t.valid.to_string()),
            ("due soon", t.due_soon.to_string()),
            ("expired", t.expired.to_string()),
            ("missing", t.missing.to_string()),
            ("in date percent", format!("{:.1}", t.percent)),
        ] {
            w.write_record(["training", "", "", &t.course, measure, &value])
                .map_err(err)?;
        }
    }
    for v in &pack.vetting {
        w.write_record([
            "vetting",
            "",
            "",
            &v.name,
            "dbs",
            standing_word(v.dbs_standing),
        ])
        .map_err(err)?;
        w.write_record([
            "vetting",
            "",
            "",
            &v.name,
            "right to work",
            standing_word(v.rtw_standing),
        ])
        .map_err(err)?;
    }
    for s in &pack.supervision {
        w.write_record([
            "supervision",
            "",
            "",
            &s.name,
            "next due",
            s.next_due.as_deref().unwrap_or(""),
        ])
        .map_err(err)?;
    }
    for g in &pack.gaps {
        w.write_record(["gaps", "", "", "", "gap", g])
            .map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ComplianceError::Pack(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| ComplianceError::Pack(e.to_string()))
}

/// The files a pack was written to.
#[derive(Clone, Debug, Serialize)]
pub struct Written {
    /// The PDF.
    pub pdf: PathBuf,
    /// The CSV beside it.
    pub csv: PathBuf,
    /// What they hold.
    pub pack: Pack,
}

/// Make the pack and write it to `pdf_path` and a CSV beside it (same name,
/// `.csv`). Each file is written whole or not at all.
pub fn write(
    store: &mut Store,
    pdf_path: &Path,
    organisation: &str,
    today: NaiveDate,
) -> Result<Written> {
    let pack = build(store, today)?;
    let csv_path = pdf_path.with_extension("csv");
    // Each file whole or not at all: written beside its target, then
    // renamed into place.
    let put = |path: &Path, bytes: &[u8]| -> Result<()> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let io = |e: std::io::Error| ComplianceError::Pack(format!("{}: {e}", path.display()));
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        std::io::Write::write_all(&mut tmp, bytes).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        Ok(())
    };
    put(pdf_path, &pdf(&pack, organisation))?;
    put(&csv_path, csv(&pack)?.as_bytes())?;
    Ok(Written {
        pdf: pdf_path.to_path_buf(),
        csv: csv_path,
        pack,
    })
}
