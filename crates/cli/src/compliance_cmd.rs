//! `crm compliance …` (policies and SOPs under approval, read-and-sign,
//! the dashboard, reminders) and `crm evidence-pack`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};
use clap::{Args, Subcommand};
use crm_compliance::{dates, pack, policies, readsign, reminders};
use crm_plugins::runtime::{RunReport, Runtime};

use crate::plugin_cmd::{limits_of, print_reports};
use crate::Profile;

/// A policy's settings as flags.
#[derive(Args)]
pub struct PolicyFields {
    /// policy or sop.
    #[arg(long)]
    kind: Option<String>,
    /// Who answers for it.
    #[arg(long)]
    owner: Option<String>,
    /// Months between reviews.
    #[arg(long)]
    review_months: Option<i64>,
    /// A CQC quality statement it evidences (code such as S3, or its name;
    /// repeat). Given on edit, the list replaces the old one.
    #[arg(long = "statement")]
    statements: Vec<String>,
}

#[derive(Subcommand)]
pub enum PolicyCmd {
    /// Make a document of the library a policy or SOP (it comes under
    /// control: new versions wait, publishing needs a second admin).
    Add {
        /// Document id.
        doc: String,
        #[command(flatten)]
        fields: PolicyFields,
    },
    /// Change a policy's owner, kind, review cycle or statements.
    Edit {
        /// Document id.
        doc: String,
        #[command(flatten)]
        fields: PolicyFields,
    },
}

#[derive(Subcommand)]
pub enum ComplianceCmd {
    /// The CQC's key questions and 34 quality statements.
    Statements,
    /// Make a document a policy, or change one.
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// Policies and SOPs, with approval and review.
    Policies {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Submit a policy's newest version for approval.
    Submit {
        /// Document id.
        doc: String,
    },
    /// Approve the version awaiting approval (another admin than the one
    /// who submitted it).
    Approve {
        /// Document id.
        doc: String,
    },
    /// Send the version awaiting approval back to draft.
    Reject {
        /// Document id.
        doc: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Publish the approved version; its review cycle starts today.
    Publish {
        /// Document id.
        doc: String,
        /// A minor change: acknowledgements of the earlier version still
        /// count.
        #[arg(long)]
        minor: bool,
    },
    /// Record a review that changed nothing: the next review is a cycle
    /// from today.
    Reviewed {
        /// Document id.
        doc: String,
    },
    /// Ask people to read and sign a published policy by a date.
    Assign {
        /// Document id.
        doc: String,
        /// role:NAME, team:NAME or staff:ID (repeat).
        #[arg(long = "to", required = true)]
        to: Vec<String>,
        /// Due date (YYYY-MM-DD or DD/MM/YYYY).
        #[arg(long)]
        due: String,
    },
    /// Take an assignment away.
    Unassign {
        /// Document id.
        doc: String,
        /// role:NAME, team:NAME or staff:ID.
        #[arg(long = "to")]
        to: String,
    },
    /// Who has read and signed a policy.
    Status {
        /// Document id.
        doc: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// What you must read and sign.
    Mine {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge a policy: "I have read and understood" its version in
    /// force (works offline).
    Sign {
        /// Document id.
        doc: String,
    },
    /// Reviews due, approvals waiting, statements without evidence.
    Dashboard {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Make the reminders due today into tasks (each once), then run the
    /// plugins hooked to them (training.expiring, document.review_due,
    /// acknowledgement.due, acknowledgement.overdue).
    Remind,
}

/// `crm evidence-pack`.
#[derive(Args)]
pub struct PackArgs {
    /// The PDF to write (a CSV of the same figures is written beside it).
    #[arg(short, long)]
    output: PathBuf,
    /// The organisation's name on the cover.
    #[arg(long, default_value = "our service")]
    organisation: String,
}

fn fields(f: PolicyFields, before: Option<&policies::Policy>) -> policies::PolicyDraft {
    policies::PolicyDraft {
        kind: f
            .kind
            .or(before.map(|b| b.kind.clone()))
            .unwrap_or_else(|| "policy".into()),
        owner: f
            .owner
            .or(before.map(|b| b.owner.clone()))
            .unwrap_or_default(),
        review_months: f
            .review_months
            .or(before.map(|b| b.review_months))
            .unwrap_or(12),
        statements: if f.statements.is_empty() {
            before.map(|b| b.statements.clone()).unwrap_or_default()
        } else {
            f.statements
        },
    }
}

fn print_policy(p: &policies::Policy) {
    println!(
        "{}  {} ({})  v{}  {}  review by {} ({})  owner {}  [{}]",
        p.doc_id,
        p.title,
        p.kind,
        p.live_version.or(p.readable_version).unwrap_or(0),
        p.approval.replace('_', " "),
        p.next_review,
        p.review.label(),
        p.owner,
        p.statements.join(", ")
    );
}

/// `crm compliance …`.
pub fn run(profile: &mut Profile, cmd: ComplianceCmd) -> Result<()> {
    let store = profile.store()?;
    let today = dates::today();
    match cmd {
        ComplianceCmd::Statements => {
            for s in policies::statements(store)? {
                println!("{:<4} {:<11} {}", s.id, s.key_question, s.name);
            }
        }
        ComplianceCmd::Policy(PolicyCmd::Add { doc, fields: f }) => {
            let p = policies::register(store, &doc, &fields(f, None), today)?;
            print_policy(&p);
        }
        ComplianceCmd::Policy(PolicyCmd::Edit { doc, fields: f }) => {
            let before = policies::get(store, &doc, today)?;
            let p = policies::edit(store, &doc, &fields(f, Some(&before)), today)?;
            print_policy(&p);
        }
        ComplianceCmd::Policies { json } => {
            let list = policies::list(store, today)?;
            if json {
                println!("{}", serde_json::to_string(&list)?);
            } else if list.is_empty() {
                println!("no policies yet: add a document with `crm docs add`, then `crm compliance policy add ID`");
            } else {
                list.iter().for_each(print_policy);
            }
        }
        ComplianceCmd::Submit { doc } => print_policy(&policies::submit(store, &doc, today)?),
        ComplianceCmd::Approve { doc } => print_policy(&policies::approve(store, &doc, today)?),
        ComplianceCmd::Reject { doc, reason } => {
            print_policy(&policies::reject(store, &doc, &reason, today)?)
        }
        ComplianceCmd::Publish { doc, minor } => {
            print_policy(&policies::publish(store, &doc, minor, today)?)
        }
        ComplianceCmd::Reviewed { doc } => print_policy(&policies::reviewed(store, &doc, today)?),
        ComplianceCmd::Assign { doc, to, due } => {
            for t in &to {
                let a = readsign::assign(store, &doc, t, &due, today)?;
                println!("assigned to {} by {}", a.target, a.due);
            }
        }
        ComplianceCmd::Unassign { doc, to } => {
            readsign::unassign(store, &doc, &to)?;
            println!("no longer assigned to {to}");
        }
        ComplianceCmd::Status { doc, json } => {
            let st = readsign::status(store, &doc, today)?;
            if json {
                println!("{}", serde_json::to_string(&st)?);
                return Ok(());
            }
            println!(
                "{} v{}: {:.1}% signed ({} done, {} pending, {} overdue)",
                st.title,
                st.version.unwrap_or(0),
                st.percent,
                st.done,
                st.pending,
                st.overdue
            );
            for p in &st.people {
                println!(
                    "  {:<28} {:<8} due {}{}",
                    p.name,
                    serde_json::to_value(p.state)?.as_str().unwrap_or(""),
                    p.due,
                    p.at.as_deref()
                        .map(|a| format!(", signed {a}"))
                        .unwrap_or_default()
                );
            }
        }
        ComplianceCmd::Mine { json } => {
            let mine = readsign::mine(store, today)?;
            if json {
                let v: Vec<_> = mine
                    .iter()
                    .map(|(p, a)| serde_json::json!({"policy": p, "state": a}))
                    .collect();
                println!("{}", serde_json::to_string(&v)?);
            } else if mine.is_empty() {
                println!("nothing to read and sign");
            }
            for (p, a) in mine.iter().filter(|_| !json) {
                println!(
                    "{}  {} v{}  due {}  {}",
                    p.doc_id,
                    p.title,
                    p.live_version.unwrap_or(0),
                    a.due,
                    serde_json::to_value(a.state)?.as_str().unwrap_or("")
                );
            }
        }
        ComplianceCmd::Sign { doc } => {
            let a = readsign::acknowledge(store, &doc, today)?;
            println!(
                "{}: version {} acknowledged at {}",
                a.statement, a.version, a.at
            );
        }
        ComplianceCmd::Dashboard { json } => {
            let d = policies::dashboard(store, today)?;
            if json {
                println!("{}", serde_json::to_string(&d)?);
                return Ok(());
            }
            let titles = |v: &[policies::Policy]| {
                if v.is_empty() {
                    "none".to_string()
                } else {
                    v.iter()
                        .map(|p| format!("{} ({})", p.title, p.next_review))
                        .collect::<Vec<_>>()
                        .join("; ")
                }
            };
            println!("overdue for review: {}", titles(&d.overdue));
            println!(
                "due for review within 60 days: {}",
                titles(&d.due_for_review)
            );
            println!("awaiting approval: {}", titles(&d.awaiting_approval));
            println!("approved, not published: {}", titles(&d.approved));
            println!(
                "quality statements with no current evidence ({} of 34): {}",
                d.uncovered.len(),
                d.uncovered
                    .iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        ComplianceCmd::Remind => {
            let made = reminders::run(store, today)?;
            for r in &made {
                println!("task {}: {} (due {})", r.task_id, r.title, r.due);
            }
            println!("{} reminder(s) made", made.len());
            fire_reminders(profile, &made);
        }
    }
    Ok(())
}

/// Fire each reminder made at the plugins hooked to its event
/// (`training.expiring`, `document.review_due`, `acknowledgement.due`,
/// `acknowledgement.overdue`), on the command's own store. As with every
/// hook, a failure is a warning: the reminders are made whatever the
/// plugins do. What the hooks write is dispatched after the command, with
/// the rest of what it changed.
fn fire_reminders(profile: &mut Profile, made: &[reminders::Reminder]) {
    if made.is_empty() {
        return;
    }
    let store = match profile.take() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("warning: plugin hooks did not run: {e:#}");
            return;
        }
    };
    let shared = Arc::new(Mutex::new(store));
    let result = (|| -> Result<Vec<RunReport>> {
        let limits = {
            let s = shared
                .lock()
                .map_err(|_| anyhow!("the store is unavailable"))?;
            limits_of(&s)?
        };
        let rt = Runtime::new(shared.clone(), limits)?;
        Ok(rt.dispatch_reminders(made)?)
    })();
    match result {
        Ok(reports) => print_reports(&reports, false),
        Err(e) => eprintln!("warning: plugin hooks did not run: {e:#}"),
    }
    // Back to the profile for the hooks on what the command changed (a
    // script still running past its deadline may hold it: then the hooks
    // open the profile again).
    if let Ok(store) = Arc::try_unwrap(shared) {
        profile.put_back(store.into_inner().unwrap_or_else(|p| p.into_inner()));
    }
}

/// `crm evidence-pack -o FILE.pdf`.
pub fn evidence_pack(profile: &mut Profile, args: PackArgs) -> Result<()> {
    let store = profile.store()?;
    let started = std::time::Instant::now();
    let w = pack::write(store, &args.output, &args.organisation, dates::today())?;
    println!(
        "wrote {} and {} in {:.1} s: read-and-sign {:.1}%, training {:.1}%, supervision {:.1}%, {} gap(s)",
        w.pdf.display(),
        w.csv.display(),
        started.elapsed().as_secs_f64(),
        w.pack.ack_percent,
        w.pack.training_percent,
        w.pack.supervision_percent,
        w.pack.gaps.len()
    );
    Ok(())
}

/// Bring care compliance in line with the agency's server after a sync.
pub fn sync_after(
    store: &mut crm_core::Store,
    conn: &crm_sync_client::Connection,
    token: &str,
) -> Result<()> {
    let s = crm_compliance::sync::sync(store, conn, token)?;
    if s.sent + s.received > 0 {
        println!("compliance: sent {}, received {}", s.sent, s.received);
    }
    for r in &s.refused {
        eprintln!("compliance: not accepted by the server, kept on this device: {r}");
    }
    Ok(())
}
