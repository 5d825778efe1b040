//! `crm staff …`: staff records, their recruitment checklist, evidence
//! files and supervisions (care compliance).

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use clap::{Args, Subcommand};
use crm_compliance::{checks, dates, evidence, staff, supervision, training};
use serde_json::{Map, Value};

use crate::Profile;

/// A staff record's fields as flags.
#[derive(Args, Clone, Default)]
pub struct StaffFields {
    /// Full name.
    #[arg(long)]
    name: Option<String>,
    /// Job role, e.g. carer, senior carer, nurse, manager.
    #[arg(long)]
    role: Option<String>,
    /// Team.
    #[arg(long)]
    team: Option<String>,
    /// Their manager (staff id or exact name).
    #[arg(long)]
    manager: Option<String>,
    /// First day (YYYY-MM-DD or DD/MM/YYYY).
    #[arg(long)]
    start: Option<String>,
    /// Contract, e.g. full-time, part-time, zero-hours, bank.
    #[arg(long)]
    contract: Option<String>,
    /// The user account (id) they sign in with.
    #[arg(long)]
    user: Option<String>,
    /// Weeks between supervisions.
    #[arg(long)]
    supervision_weeks: Option<i64>,
    /// Months between appraisals.
    #[arg(long)]
    appraisal_months: Option<i64>,
    /// Last day of work.
    #[arg(long)]
    left: Option<String>,
}

#[derive(Subcommand)]
pub enum StaffCmd {
    /// Add a member of staff.
    Add(StaffFields),
    /// Change a staff record (fields not given stay as they are; give an
    /// empty value to clear one).
    Edit {
        /// Staff id or exact name.
        who: String,
        #[command(flatten)]
        fields: StaffFields,
    },
    /// List the staff you may see.
    List {
        /// Only this team.
        #[arg(long)]
        team: Option<String>,
        /// Only this role.
        #[arg(long)]
        role: Option<String>,
        /// Names containing this.
        #[arg(long)]
        filter: Option<String>,
        /// Include people who have left.
        #[arg(long)]
        all: bool,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// One person: record, checklist, training, supervisions.
    Show {
        /// Staff id or exact name.
        who: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Record an item of the recruitment checklist (Schedule 3, right to
    /// work, references, probation).
    Check {
        /// Staff id or exact name.
        who: String,
        /// The item: identity, dbs, conduct, leaving_reasons,
        /// qualifications, employment_history, health, right_to_work,
        /// references, probation.
        item: String,
        /// missing, received, verified or not_required.
        #[arg(long, default_value = "verified")]
        status: String,
        /// A field of the item, KEY=VALUE (repeat), e.g. level=enhanced,
        /// issue_date=2025-01-02, update_service=yes.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// A note.
        #[arg(long)]
        note: Option<String>,
    },
    /// Keep an evidence file (PDF, Word, PNG or JPEG; up to 20 MB) for an
    /// item, inside the encrypted profile.
    Evidence {
        /// Staff id or exact name.
        who: String,
        /// The checklist item (or `training`).
        item: String,
        /// The file.
        file: PathBuf,
    },
    /// Write an evidence file back out.
    EvidenceGet {
        /// Evidence id.
        id: String,
        /// Where to write it.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Record a supervision or appraisal held.
    Supervision {
        /// Staff id or exact name.
        who: String,
        /// supervision or appraisal.
        #[arg(long, default_value = "supervision")]
        kind: String,
        /// When (YYYY-MM-DD or DD/MM/YYYY).
        #[arg(long)]
        date: String,
        /// Who held it.
        #[arg(long)]
        supervisor: String,
        /// Notes.
        #[arg(long)]
        notes: Option<String>,
    },
}

fn draft(
    f: StaffFields,
    before: Option<&staff::Staff>,
    store: &crm_core::Store,
) -> Result<staff::StaffDraft> {
    let keep = |new: Option<String>, old: Option<String>| match new {
        Some(n) => Some(n),
        None => old,
    };
    let manager = match f.manager {
        Some(m) if m.trim().is_empty() => None,
        Some(m) => Some(
            staff::find(store, &m)
                .map_err(|e| anyhow!("--manager: {e}"))?
                .id,
        ),
        None => before.and_then(|b| b.manager_id.clone()),
    };
    Ok(staff::StaffDraft {
        name: keep(f.name, before.map(|b| b.name.clone())).unwrap_or_default(),
        role: keep(f.role, before.map(|b| b.role.clone())).unwrap_or_default(),
        team: keep(f.team, before.and_then(|b| b.team.clone())),
        manager_id: manager,
        start_date: keep(f.start, before.map(|b| b.start_date.clone())).unwrap_or_default(),
        contract: keep(f.contract, before.and_then(|b| b.contract.clone())),
        user_id: keep(f.user, before.and_then(|b| b.user_id.clone())),
        supervision_weeks: f
            .supervision_weeks
            .or(before.and_then(|b| b.supervision_weeks)),
        appraisal_months: f
            .appraisal_months
            .or(before.and_then(|b| b.appraisal_months)),
        left_date: keep(f.left, before.and_then(|b| b.left_date.clone())),
    })
}

fn print_staff(s: &staff::Staff) {
    println!(
        "{}  {}  {}{}  started {}{}",
        s.id,
        s.name,
        s.role,
        s.team
            .as_deref()
            .map(|t| format!(" ({t})"))
            .unwrap_or_default(),
        s.start_date,
        s.left_date
            .as_deref()
            .map(|l| format!(", left {l}"))
            .unwrap_or_default()
    );
}

/// `crm staff …`.
pub fn run(profile: &mut Profile, cmd: StaffCmd) -> Result<()> {
    let store = profile.store()?;
    let today = dates::today();
    match cmd {
        StaffCmd::Add(f) => {
            let d = draft(f, None, store)?;
            let s = staff::create(store, &d)?;
            println!("added {} ({})", s.name, s.id);
        }
        StaffCmd::Edit { who, fields } => {
            let before = staff::find(store, &who)?;
            let d = draft(fields, Some(&before), store)?;
            let s = staff::update(store, &before.id, &d)?;
            print_staff(&s);
        }
        StaffCmd::List {
            team,
            role,
            filter,
            all,
            json,
        } => {
            let list = staff::list(
                store,
                &staff::StaffQuery {
                    team,
                    role,
                    text: filter,
                    include_left: all,
                },
            )?;
            if json {
                println!("{}", serde_json::to_string(&list)?);
            } else if list.is_empty() {
                println!("no staff records you may see");
            } else {
                list.iter().for_each(print_staff);
            }
        }
        StaffCmd::Show { who, json } => {
            let s = staff::find(store, &who)?;
            let checklist = checks::checklist(store, &s.id, today)?;
            let records = training::records(store, &s.id)?;
            let schedules = supervision::schedules(store, &s, today)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"staff": s, "checks": checklist, "training": records, "supervision": schedules})
                );
                return Ok(());
            }
            print_staff(&s);
            println!("checks:");
            for c in &checklist {
                println!(
                    "  {:<20} {:<12} {}{}",
                    c.item,
                    c.status,
                    c.standing.label(),
                    c.expires
                        .as_deref()
                        .map(|e| format!(" (until {e})"))
                        .unwrap_or_default()
                );
            }
            println!("training:");
            for r in &records {
                println!(
                    "  {}  {}{}",
                    r.achieved,
                    r.course_name,
                    r.expires
                        .as_deref()
                        .map(|e| format!(" (until {e})"))
                        .unwrap_or_default()
                );
            }
            for sc in &schedules {
                println!(
                    "{}: last {}, next due {} ({})",
                    sc.kind,
                    sc.last.as_deref().unwrap_or("none"),
                    sc.next_due.as_deref().unwrap_or("no schedule"),
                    sc.standing.label()
                );
            }
        }
        StaffCmd::Check {
            who,
            item,
            status,
            set,
            note,
        } => {
            let s = staff::find(store, &who)?;
            let mut details = Map::new();
            for kv in &set {
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| anyhow!("--set {kv:?}: write KEY=VALUE, e.g. level=enhanced"))?;
                details.insert(k.trim().to_string(), Value::String(v.to_string()));
            }
            let c = checks::set(store, &s.id, &item, &status, &details, note.as_deref())?;
            println!("{}: {} ({})", c.name, c.status, c.standing.label());
        }
        StaffCmd::Evidence { who, item, file } => {
            let s = staff::find(store, &who)?;
            let (name, bytes) = evidence::read_file(&file)?;
            let e = evidence::add(store, &s.id, &item, &name, &bytes)?;
            println!(
                "kept {} ({} bytes) as evidence {}",
                e.file_name, e.size, e.id
            );
        }
        StaffCmd::EvidenceGet { id, output } => {
            let (e, bytes) = evidence::bytes(store, &id)?;
            std::fs::write(&output, bytes).map_err(|err| anyhow!("{}: {err}", output.display()))?;
            println!("wrote {} to {}", e.file_name, output.display());
        }
        StaffCmd::Supervision {
            who,
            kind,
            date,
            supervisor,
            notes,
        } => {
            let s = staff::find(store, &who)?;
            let m = supervision::record(
                store,
                &s.id,
                &kind,
                &date,
                &supervisor,
                notes.as_deref(),
                today,
            )?;
            println!("recorded {} on {} for {}", m.kind, m.date, s.name);
        }
    }
    Ok(())
}
