//! The Compliance screens' policies side: library documents made policies
//! and SOPs, their approval (a second admin approves what one submitted,
//! and only then is it published), reviews, read-and-sign (assignments,
//! who has signed, "my reading" and the acknowledgement), the dashboard,
//! reminders made into tasks, and the inspector's evidence pack written
//! where the person chose.

use std::path::PathBuf;

use crm_compliance::policies::{self, Policy, PolicyDraft};
use crm_compliance::readsign::{self, AckState};
use crm_compliance::{dates, pack, reminders};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::compliance::{statement_dto, whole, StandingDto, StatementDto};
use crate::{ApiError, ApiResult, App};

/// A policy or SOP: a library document under document control.
#[derive(Clone, Debug, Serialize, TS)]
pub struct CompliancePolicyDto {
    /// The document's id.
    pub doc_id: String,
    /// Its title.
    pub title: String,
    /// `policy` or `sop`.
    pub kind: String,
    /// Who answers for it.
    pub owner: String,
    /// Months between reviews.
    #[ts(type = "number")]
    pub review_months: i64,
    /// Next review (YYYY-MM-DD).
    pub next_review: String,
    /// Last review.
    pub last_review: Option<String>,
    /// Review standing today: valid, due soon, overdue (`expired`).
    pub review: StandingDto,
    /// `draft`, `awaiting_approval`, `approved` or `published` (the newest
    /// readable version's step).
    pub approval: String,
    /// The document's status: `draft`, `published`, `retired`.
    pub status: String,
    /// The version in force.
    #[ts(type = "number | null")]
    pub live_version: Option<i64>,
    /// The newest readable version.
    #[ts(type = "number | null")]
    pub readable_version: Option<i64>,
    /// Who submitted the version awaiting approval (a user id).
    pub submitted_by: Option<String>,
    /// The version approved.
    #[ts(type = "number | null")]
    pub approved_version: Option<i64>,
    /// Who approved it.
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<String>,
    /// Acknowledgements count from this version.
    #[ts(type = "number | null")]
    pub ack_from_version: Option<i64>,
    /// Who drafted it.
    pub drafted_by: String,
    /// The quality statements it evidences (codes such as `S3`).
    pub statements: Vec<String>,
}

fn policy_dto(p: Policy) -> CompliancePolicyDto {
    CompliancePolicyDto {
        doc_id: p.doc_id,
        title: p.title,
        kind: p.kind,
        owner: p.owner,
        review_months: p.review_months,
        next_review: p.next_review,
        last_review: p.last_review,
        review: p.review.into(),
        approval: p.approval,
        status: p.status.as_str().into(),
        live_version: p.live_version,
        readable_version: p.readable_version,
        submitted_by: p.submitted_by,
        approved_version: p.approved_version,
        approved_by: p.approved_by,
        approved_at: p.approved_at,
        ack_from_version: p.ack_from_version,
        drafted_by: p.drafted_by,
        statements: p.statements,
    }
}

/// A policy's settings as an admin types them.
#[derive(Clone, Debug, Default, Deserialize, TS)]
pub struct CompliancePolicyForm {
    /// `policy` or `sop`.
    pub kind: String,
    /// Who answers for it.
    pub owner: String,
    /// Months between reviews (12 is usual).
    pub review_months: String,
    /// The quality statements it evidences (codes such as `S3`).
    pub statements: Vec<String>,
}

fn policy_draft(f: &CompliancePolicyForm) -> ApiResult<PolicyDraft> {
    let months = whole("review_months", &f.review_months)?.ok_or_else(|| {
        ApiError::invalid(
            "review_months",
            "give the months between reviews (12 is usual)",
        )
    })?;
    Ok(PolicyDraft {
        kind: f.kind.clone(),
        owner: f.owner.clone(),
        review_months: months,
        statements: f.statements.clone(),
    })
}

/// Who must read a policy by when.
#[derive(Clone, Debug, Serialize, TS)]
pub struct AssignmentDto {
    /// Id.
    pub id: String,
    /// The policy.
    pub doc_id: String,
    /// `role:R`, `team:T` or `staff:ID`.
    pub target: String,
    /// Due (YYYY-MM-DD).
    pub due: String,
}

fn assignment_dto(a: readsign::Assignment) -> AssignmentDto {
    AssignmentDto {
        id: a.id,
        doc_id: a.doc_id,
        target: a.target,
        due: a.due,
    }
}

/// Done, pending or overdue (exported as a union of strings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AckStateDto {
    /// Acknowledged the version that counts.
    Done,
    /// Not yet; the due date has not passed.
    Pending,
    /// Not yet, and the due date has passed.
    Overdue,
}

impl From<AckState> for AckStateDto {
    fn from(s: AckState) -> Self {
        match s {
            AckState::Done => AckStateDto::Done,
            AckState::Pending => AckStateDto::Pending,
            AckState::Overdue => AckStateDto::Overdue,
        }
    }
}

/// One person's read-and-sign state for one policy.
#[derive(Clone, Debug, Serialize, TS)]
pub struct PersonAckDto {
    /// The staff member.
    pub staff_id: String,
    /// Their name.
    pub name: String,
    /// Their team.
    pub team: Option<String>,
    /// Due (the earliest of their assignments).
    pub due: String,
    /// Done, pending, overdue.
    pub state: AckStateDto,
    /// When they acknowledged.
    pub at: Option<String>,
    /// Which version.
    #[ts(type = "number | null")]
    pub version: Option<i64>,
}

fn person_dto(p: readsign::PersonAck) -> PersonAckDto {
    PersonAckDto {
        staff_id: p.staff_id,
        name: p.name,
        team: p.team,
        due: p.due,
        state: p.state.into(),
        at: p.at,
        version: p.version,
    }
}

/// A policy's read-and-sign state.
#[derive(Clone, Debug, Serialize, TS)]
pub struct AckStatusDto {
    /// The version in force.
    #[ts(type = "number | null")]
    pub version: Option<i64>,
    /// Acknowledgements count from this version.
    #[ts(type = "number | null")]
    pub from_version: Option<i64>,
    /// Everyone assigned whom the person looking may see.
    pub people: Vec<PersonAckDto>,
    /// Done.
    pub done: u32,
    /// Pending.
    pub pending: u32,
    /// Overdue.
    pub overdue: u32,
    /// Done, percent of people (100 with nobody assigned).
    pub percent: f64,
}

/// A policy's page.
#[derive(Clone, Debug, Serialize, TS)]
pub struct PolicyDetailDto {
    /// The policy.
    pub policy: CompliancePolicyDto,
    /// Who must read it by when.
    pub assignments: Vec<AssignmentDto>,
    /// Who has read and signed it.
    pub status: AckStatusDto,
}

/// A policy the person using the app must read.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ReadingDto {
    /// The policy.
    pub policy: CompliancePolicyDto,
    /// Due.
    pub due: String,
    /// Done, pending or overdue.
    pub state: AckStateDto,
    /// When they acknowledged (the version that counts).
    pub at: Option<String>,
    /// Which version.
    #[ts(type = "number | null")]
    pub version: Option<i64>,
}

/// An acknowledgement made.
#[derive(Clone, Debug, Serialize, TS)]
pub struct AckDto {
    /// The policy.
    pub doc_id: String,
    /// The version acknowledged.
    #[ts(type = "number")]
    pub version: i64,
    /// When (RFC 3339).
    pub at: String,
    /// What they said.
    pub statement: String,
}

/// A quality statement and what evidences it.
#[derive(Clone, Debug, Serialize, TS)]
pub struct CoverageDto {
    /// The statement.
    pub statement: StatementDto,
    /// Published policies linked to it, review not overdue (document ids).
    pub current: Vec<String>,
    /// Linked but not current.
    pub stale: Vec<String>,
}

/// The policies dashboard.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ComplianceDashboardDto {
    /// The day it is for.
    pub today: String,
    /// Reviews due within 60 days.
    pub due_for_review: Vec<CompliancePolicyDto>,
    /// Reviews overdue.
    pub overdue: Vec<CompliancePolicyDto>,
    /// Versions waiting for a second admin.
    pub awaiting_approval: Vec<CompliancePolicyDto>,
    /// Approved, not yet published.
    pub approved: Vec<CompliancePolicyDto>,
    /// Quality statements with no current evidence.
    pub uncovered: Vec<StatementDto>,
    /// Every statement and what evidences it.
    pub coverage: Vec<CoverageDto>,
}

/// A reminder made into a task.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ReminderDto {
    /// `acknowledgement.due`, `acknowledgement.overdue`,
    /// `document.review_due` or `training.expiring`.
    pub kind: String,
    /// The task's title.
    pub title: String,
    /// The task's due date.
    pub due: String,
    /// The task.
    pub task_id: String,
    /// The staff member it is about.
    pub staff_id: Option<String>,
    /// The policy it is about.
    pub doc_id: Option<String>,
    /// The course it is about.
    pub course_id: Option<String>,
}

/// Training compliance for one course, as the pack shows it.
#[derive(Clone, Debug, Serialize, TS)]
pub struct PackCourseDto {
    /// The course.
    pub course: String,
    /// Valid.
    pub valid: u32,
    /// Due within 60 days.
    pub due_soon: u32,
    /// Expired.
    pub expired: u32,
    /// Never done.
    pub missing: u32,
    /// In date, percent.
    pub percent: f64,
}

/// One person's vetting as the pack shows it (never a full number).
#[derive(Clone, Debug, Serialize, TS)]
pub struct PackVettingDto {
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// DBS: level, issue date, the certificate's last four characters.
    pub dbs: String,
    /// DBS standing.
    pub dbs_standing: StandingDto,
    /// Right to work.
    pub right_to_work: String,
    /// Right to work standing.
    pub rtw_standing: StandingDto,
}

/// One key question's statements in the pack.
#[derive(Clone, Debug, Serialize, TS)]
pub struct PackKeyQuestionDto {
    /// `safe`, …
    pub id: String,
    /// `Safe`, …
    pub name: String,
    /// Its quality statements.
    pub statements: u32,
    /// Those evidenced by a policy in force.
    pub evidenced: u32,
}

/// The evidence pack written: where, and what it says.
#[derive(Clone, Debug, Serialize, TS)]
pub struct PackDto {
    /// The PDF.
    pub pdf: String,
    /// The CSV of the same figures beside it.
    pub csv: String,
    /// The day it describes.
    pub today: String,
    /// Staff in post.
    pub staff: u32,
    /// Training in date, percent of cells.
    pub training_percent: f64,
    /// Read-and-sign, percent.
    pub ack_percent: f64,
    /// Supervision in date, percent.
    pub supervision_percent: f64,
    /// By key question.
    pub key_questions: Vec<PackKeyQuestionDto>,
    /// Training per course.
    pub training: Vec<PackCourseDto>,
    /// Vetting per person.
    pub vetting: Vec<PackVettingDto>,
    /// What is missing or lapsed, one sentence each.
    pub gaps: Vec<String>,
}

fn pack_dto(w: pack::Written) -> PackDto {
    let p = w.pack;
    PackDto {
        pdf: w.pdf.display().to_string(),
        csv: w.csv.display().to_string(),
        today: p.today,
        staff: p.staff as u32,
        training_percent: p.training_percent,
        ack_percent: p.ack_percent,
        supervision_percent: p.supervision_percent,
        key_questions: p
            .key_questions
            .into_iter()
            .map(|k| PackKeyQuestionDto {
                evidenced: k
                    .statements
                    .iter()
                    .filter(|s| !s.policies.is_empty())
                    .count() as u32,
                statements: k.statements.len() as u32,
                id: k.id,
                name: k.name,
            })
            .collect(),
        training: p
            .training
            .into_iter()
            .map(|c| PackCourseDto {
                course: c.course,
                valid: c.valid as u32,
                due_soon: c.due_soon as u32,
                expired: c.expired as u32,
                missing: c.missing as u32,
                percent: c.percent,
            })
            .collect(),
        vetting: p
            .vetting
            .into_iter()
            .map(|v| PackVettingDto {
                name: v.name,
                role: v.role,
                dbs: v.dbs,
                dbs_standing: v.dbs_standing.into(),
                right_to_work: v.right_to_work,
                rtw_standing: v.rtw_standing.into(),
            })
            .collect(),
        gaps: p.gaps,
    }
}

impl App {
    /// The policies and SOPs this person may see, by title.
    pub fn compliance_policies(&self) -> ApiResult<Vec<CompliancePolicyDto>> {
        let day = dates::today();
        self.read(|s| {
            Ok(policies::list(s, day)?
                .into_iter()
                .map(policy_dto)
                .collect())
        })
    }

    /// A policy's page: the policy, its assignments, who has signed.
    pub fn compliance_policy_get(&self, doc_id: &str) -> ApiResult<PolicyDetailDto> {
        let day = dates::today();
        self.read(|s| {
            let p = policies::get(s, doc_id, day)?;
            let assignments = readsign::assignments(s, doc_id)?;
            let st = readsign::status(s, doc_id, day)?;
            Ok(PolicyDetailDto {
                policy: policy_dto(p),
                assignments: assignments.into_iter().map(assignment_dto).collect(),
                status: AckStatusDto {
                    version: st.version,
                    from_version: st.from_version,
                    done: st.done as u32,
                    pending: st.pending as u32,
                    overdue: st.overdue as u32,
                    percent: st.percent,
                    people: st.people.into_iter().map(person_dto).collect(),
                },
            })
        })
    }

    /// Make a library document a policy or SOP (admins): it comes under
    /// control.
    pub fn compliance_policy_register(
        &self,
        doc_id: &str,
        form: CompliancePolicyForm,
    ) -> ApiResult<CompliancePolicyDto> {
        if doc_id.trim().is_empty() {
            return Err(ApiError::invalid(
                "doc_id",
                "choose a document of the library",
            ));
        }
        let d = policy_draft(&form)?;
        let day = dates::today();
        self.write(|s| Ok(policy_dto(policies::register(s, doc_id, &d, day)?)))
    }

    /// Change a policy's kind, owner, review cycle or statements (admins).
    pub fn compliance_policy_edit(
        &self,
        doc_id: &str,
        form: CompliancePolicyForm,
    ) -> ApiResult<CompliancePolicyDto> {
        let d = policy_draft(&form)?;
        let day = dates::today();
        self.write(|s| Ok(policy_dto(policies::edit(s, doc_id, &d, day)?)))
    }

    /// Submit the newest readable version for approval (admins).
    pub fn compliance_policy_submit(&self, doc_id: &str) -> ApiResult<CompliancePolicyDto> {
        let day = dates::today();
        self.write(|s| Ok(policy_dto(policies::submit(s, doc_id, day)?)))
    }

    /// Approve the version awaiting approval (an admin other than the one
    /// who submitted it).
    pub fn compliance_policy_approve(&self, doc_id: &str) -> ApiResult<CompliancePolicyDto> {
        let day = dates::today();
        self.write(|s| Ok(policy_dto(policies::approve(s, doc_id, day)?)))
    }

    /// Send the version awaiting approval back to draft, saying why.
    pub fn compliance_policy_reject(
        &self,
        doc_id: &str,
        reason: &str,
    ) -> ApiResult<CompliancePolicyDto> {
        let day = dates::today();
        self.write(|s| Ok(policy_dto(policies::reject(s, doc_id, reason, day)?)))
    }

    /// Publish the approved version; `minor`: acknowledgements of the
    /// earlier version still count.
    pub fn compliance_policy_publish(
        &self,
        doc_id: &str,
        minor: bool,
    ) -> ApiResult<CompliancePolicyDto> {
        let day = dates::today();
        self.write(|s| Ok(policy_dto(policies::publish(s, doc_id, minor, day)?)))
    }

    /// Record a review that changed nothing.
    pub fn compliance_policy_reviewed(&self, doc_id: &str) -> ApiResult<CompliancePolicyDto> {
        let day = dates::today();
        self.write(|s| Ok(policy_dto(policies::reviewed(s, doc_id, day)?)))
    }

    /// Ask `role:R`, `team:T` or `staff:ID` to read and sign a published
    /// policy by `due`.
    pub fn compliance_assign(
        &self,
        doc_id: &str,
        target: &str,
        due: &str,
    ) -> ApiResult<AssignmentDto> {
        let day = dates::today();
        self.write(|s| {
            Ok(assignment_dto(readsign::assign(
                s, doc_id, target, due, day,
            )?))
        })
    }

    /// Take an assignment away.
    pub fn compliance_unassign(&self, doc_id: &str, target: &str) -> ApiResult<()> {
        self.write(|s| Ok(readsign::unassign(s, doc_id, target)?))
    }

    /// What the person using the app must read and sign.
    pub fn compliance_mine(&self) -> ApiResult<Vec<ReadingDto>> {
        let day = dates::today();
        self.read(|s| {
            Ok(readsign::mine(s, day)?
                .into_iter()
                .map(|(p, a)| ReadingDto {
                    policy: policy_dto(p),
                    due: a.due,
                    state: a.state.into(),
                    at: a.at,
                    version: a.version,
                })
                .collect())
        })
    }

    /// "I have read and understood" the version in force of a policy
    /// assigned to me.
    pub fn compliance_acknowledge(&self, doc_id: &str) -> ApiResult<AckDto> {
        let day = dates::today();
        self.write(|s| {
            let a = readsign::acknowledge(s, doc_id, day)?;
            Ok(AckDto {
                doc_id: a.doc_id,
                version: a.version,
                at: a.at,
                statement: a.statement,
            })
        })
    }

    /// Reviews due, approvals waiting, statements without evidence.
    pub fn compliance_dashboard(&self) -> ApiResult<ComplianceDashboardDto> {
        let day = dates::today();
        let d = self.compliance_store(|s| Ok(policies::dashboard(s, day)?))?;
        let list = |v: Vec<Policy>| v.into_iter().map(policy_dto).collect::<Vec<_>>();
        Ok(ComplianceDashboardDto {
            today: d.today,
            due_for_review: list(d.due_for_review),
            overdue: list(d.overdue),
            awaiting_approval: list(d.awaiting_approval),
            approved: list(d.approved),
            uncovered: d.uncovered.into_iter().map(statement_dto).collect(),
            coverage: d
                .coverage
                .into_iter()
                .map(|c| CoverageDto {
                    statement: statement_dto(c.statement),
                    current: c.current,
                    stale: c.stale,
                })
                .collect(),
        })
    }

    /// Make the reminders due today into tasks, each once (admins and
    /// managers).
    ///
    /// Each reminder made also fires its event (`training.expiring`,
    /// `document.review_due`, `acknowledgement.due`,
    /// `acknowledgement.overdue`) at the plugins hooked to it; as with
    /// every hook, what a plugin does is a notice, never this command's
    /// failure.
    pub fn compliance_remind(&self) -> ApiResult<Vec<ReminderDto>> {
        let day = dates::today();
        let made = self.write(|s| Ok(reminders::run(s, day)?))?;
        if !made.is_empty() {
            let s = self.session()?;
            match s.rt.dispatch_reminders(&made) {
                Ok(reports) => self.notice_reports(&reports),
                Err(e) => self.notice(crate::dto::NoticeDto {
                    level: "warning".into(),
                    message: format!("plugin hooks did not run: {e}"),
                    source: None,
                }),
            }
            // What the hooks wrote, announced like any other change.
            self.run_hooks(&s, &mut |_, _| true);
        }
        Ok(made
            .into_iter()
            .map(|r| ReminderDto {
                kind: r.kind.into(),
                title: r.title,
                due: r.due,
                task_id: r.task_id,
                staff_id: r.staff_id,
                doc_id: r.doc_id,
                course_id: r.course_id,
            })
            .collect())
    }

    /// Write the evidence pack to `path` (a PDF; a CSV of the same figures
    /// beside it) for `organisation` (admins).
    pub fn compliance_pack(&self, path: &str, organisation: &str) -> ApiResult<PackDto> {
        let path = path.trim();
        if path.is_empty() {
            return Err(ApiError::invalid("path", "choose where to save the pack"));
        }
        let mut pdf = PathBuf::from(path);
        if pdf.extension().is_none() {
            pdf.set_extension("pdf");
        }
        let organisation = match organisation.trim() {
            "" => "our service",
            o => o,
        };
        let day = dates::today();
        self.compliance_store(|s| Ok(pack_dto(pack::write(s, &pdf, organisation, day)?)))
    }
}
