//! `crm training …`: courses, training records and the matrix.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use crm_compliance::dates::{self, Standing};
use crm_compliance::{evidence, staff, training};

use crate::Profile;

#[derive(Subcommand)]
pub enum TrainingCmd {
    /// The courses (the matrix's columns).
    Courses {
        /// Include courses taken out of the matrix.
        #[arg(long)]
        all: bool,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Add a course (admins).
    CourseAdd {
        /// Its name.
        #[arg(long)]
        name: String,
        /// mandatory, care_certificate or other.
        #[arg(long, default_value = "mandatory")]
        category: String,
        /// Months until it must be done again (leave out: never lapses).
        #[arg(long)]
        renewal_months: Option<i64>,
    },
    /// Change a course (admins); flags not given stay as they are.
    CourseEdit {
        /// Course id or name.
        course: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// mandatory, care_certificate or other.
        #[arg(long)]
        category: Option<String>,
        /// Months until renewal (0: never lapses).
        #[arg(long)]
        renewal_months: Option<i64>,
        /// Take it out of the matrix.
        #[arg(long, conflicts_with = "activate")]
        deactivate: bool,
        /// Put it back in the matrix.
        #[arg(long)]
        activate: bool,
    },
    /// Record training someone achieved.
    Record {
        /// Staff id or exact name.
        who: String,
        /// Course id or name.
        course: String,
        /// When achieved (YYYY-MM-DD or DD/MM/YYYY).
        #[arg(long)]
        achieved: String,
        /// When it lapses, if the certificate says (else the course's
        /// renewal period).
        #[arg(long)]
        expires: Option<String>,
        /// Who trained them.
        #[arg(long)]
        provider: Option<String>,
        /// The certificate (PDF, Word, PNG or JPEG), kept encrypted.
        #[arg(long)]
        evidence: Option<PathBuf>,
    },
    /// The training matrix: staff by course.
    Matrix {
        /// Only this team.
        #[arg(long)]
        team: Option<String>,
        /// Only this role.
        #[arg(long)]
        role: Option<String>,
        /// Only this course category.
        #[arg(long)]
        category: Option<String>,
        /// Only this course.
        #[arg(long)]
        course: Option<String>,
        /// Only people with a course in this standing: valid, due_soon,
        /// expired, missing.
        #[arg(long)]
        standing: Option<String>,
        /// Names containing this.
        #[arg(long)]
        filter: Option<String>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

fn mark(s: Standing) -> char {
    match s {
        Standing::Valid => 'V',
        Standing::DueSoon => 'D',
        Standing::Expired => 'X',
        Standing::Missing => '.',
    }
}

/// `crm training …`.
pub fn run(profile: &mut Profile, cmd: TrainingCmd) -> Result<()> {
    let store = profile.store()?;
    let today = dates::today();
    match cmd {
        TrainingCmd::Courses { all, json } => {
            crm_compliance::policies::statements(store)?; // the seeded lists exist once opened
            let list = training::courses(store, all)?;
            if json {
                println!("{}", serde_json::to_string(&list)?);
            }
            for c in list.iter().filter(|_| !json) {
                println!(
                    "{:<28} {:<17} {}{}",
                    c.id,
                    c.category,
                    c.renewal_months
                        .map_or("never lapses".into(), |m| format!("every {m} months")),
                    if c.active {
                        String::new()
                    } else {
                        " (not in the matrix)".into()
                    }
                );
                println!("  {}", c.name);
            }
        }
        TrainingCmd::CourseAdd {
            name,
            category,
            renewal_months,
        } => {
            let c = training::add_course(
                store,
                &training::CourseDraft {
                    name,
                    category,
                    renewal_months,
                    active: true,
                },
            )?;
            println!("added course {} ({})", c.name, c.id);
        }
        TrainingCmd::CourseEdit {
            course,
            name,
            category,
            renewal_months,
            deactivate,
            activate,
        } => {
            let before = training::course(store, &course)?;
            let d = training::CourseDraft {
                name: name.unwrap_or(before.name),
                category: category.unwrap_or(before.category),
                renewal_months: match renewal_months {
                    Some(0) => None,
                    Some(m) => Some(m),
                    None => before.renewal_months,
                },
                active: if deactivate {
                    false
                } else {
                    activate || before.active
                },
            };
            let c = training::edit_course(store, &before.id, &d)?;
            println!("course {} ({}) changed", c.name, c.id);
        }
        TrainingCmd::Record {
            who,
            course,
            achieved,
            expires,
            provider,
            evidence: file,
        } => {
            let s = staff::find(store, &who)?;
            let certificate = file.as_deref().map(evidence::read_file).transpose()?;
            let r = training::record(
                store,
                &training::RecordDraft {
                    staff_id: s.id.clone(),
                    course,
                    achieved,
                    expires,
                    provider,
                    evidence_id: None,
                },
                certificate
                    .as_ref()
                    .map(|(name, bytes)| (name.as_str(), bytes.as_slice())),
                today,
            )?;
            println!(
                "recorded {} for {}: achieved {}{}",
                r.course_name,
                s.name,
                r.achieved,
                r.expires
                    .map(|e| format!(", valid until {e}"))
                    .unwrap_or_else(|| ", never lapses".into())
            );
        }
        TrainingCmd::Matrix {
            team,
            role,
            category,
            course,
            standing,
            filter,
            json,
        } => {
            let m = training::matrix(
                store,
                &training::MatrixQuery {
                    team,
                    role,
                    category,
                    course,
                    standing,
                    text: filter,
                },
                today,
            )?;
            if json {
                println!("{}", serde_json::to_string(&m)?);
                return Ok(());
            }
            println!(
                "training matrix on {} (V valid, D due within 60 days, X expired, . missing)",
                m.today
            );
            for (i, c) in m.courses.iter().enumerate() {
                println!(
                    "  {:>2} {}  ({:.1}% in date)",
                    i + 1,
                    c.name,
                    m.totals[i].compliant_percent
                );
            }
            let width = m
                .rows
                .iter()
                .map(|r| r.name.chars().count())
                .max()
                .unwrap_or(4)
                .min(30);
            for r in &m.rows {
                let marks: String = r.cells.iter().map(|c| mark(c.standing)).collect();
                let name: String = r.name.chars().take(width).collect();
                println!("{name:<width$}  {marks}");
            }
        }
    }
    Ok(())
}
