//! The Compliance screens' people side: who is looking (what the screens
//! offer them), staff records, each person's Schedule 3 checklist with its
//! evidence files, supervisions and appraisals. Everything is
//! `crm-compliance`'s, which decides who may see and change what
//! (`Access`); this module carries it across and names the form field of
//! each refusal.
//!
//! Secret numbers (a DBS certificate's, a right-to-work document's) never
//! cross to the window once saved: the checklist sends their last four
//! characters, and a save that leaves them empty keeps what is stored.
//!
//! Reads go through the reader connection; the few calls that may create
//! the compliance tables first (the meta, the dashboard, the pack) take the
//! profile's store without running hooks.

use std::collections::BTreeMap;
use std::path::Path;

use crm_compliance::dates::Standing;
use crm_compliance::{checks, evidence, staff, supervision, Access, ComplianceError};
use crm_core::Store;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use ts_rs::TS;

use crate::{ApiError, ApiResult, App, ErrorCode};

impl From<ComplianceError> for ApiError {
    fn from(e: ComplianceError) -> Self {
        match e {
            ComplianceError::Core(c) => c.into(),
            ComplianceError::Docs(d) => d.into(),
            ComplianceError::Invalid { field, reason } => {
                ApiError::invalid(&form_field(field), reason)
            }
            ComplianceError::Forbidden(m) => ApiError::new(ErrorCode::Forbidden, m),
            ComplianceError::NotFound { what, id, .. } => ApiError::new(
                ErrorCode::NotFound,
                format!("no {what} {id}: it was removed, or it is not yours to see"),
            ),
            e @ ComplianceError::Pack(_) => ApiError::new(ErrorCode::Io, e.to_string()),
            // A step the record's state does not allow (and anything newer).
            other => ApiError::new(ErrorCode::Invalid, other.to_string()),
        }
    }
}

/// The form field a compliance refusal names, as the forms name their
/// inputs: the crate's words (`start date`, `evidence file`) in snake
/// case, and the few whose input is called otherwise.
pub(crate) fn form_field(field: &str) -> String {
    match field {
        "manager" => "manager_id".into(),
        "assign to" => "target".into(),
        other => other.trim().to_lowercase().replace([' ', '-'], "_"),
    }
}

/// A whole number typed in a form ("" is none), refused naming `field`.
pub(crate) fn whole(field: &str, text: &str) -> ApiResult<Option<i64>> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse::<i64>()
        .map(Some)
        .map_err(|_| ApiError::invalid(field, format!("{t:?} is not a whole number")))
}

/// Where something that lapses stands (exported as a union of strings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StandingDto {
    /// In date.
    Valid,
    /// In date, lapsing within 60 days (14 for meetings).
    DueSoon,
    /// Lapsed or overdue.
    Expired,
    /// Never done.
    Missing,
}

impl From<Standing> for StandingDto {
    fn from(s: Standing) -> Self {
        match s {
            Standing::Valid => StandingDto::Valid,
            Standing::DueSoon => StandingDto::DueSoon,
            Standing::Expired => StandingDto::Expired,
            Standing::Missing => StandingDto::Missing,
        }
    }
}

/// Who is using the app, as compliance sees them: the screens offer only
/// what they may do (the crate refuses the rest anyway).
#[derive(Clone, Debug, Serialize, TS)]
pub struct ComplianceAccessDto {
    /// Their user id (`local` on a profile never signed in).
    pub user_id: String,
    /// An admin (or the owner of a one-person profile).
    pub admin: bool,
    /// Manages someone (sees and changes their people's records).
    pub manager: bool,
    /// Their own staff record, when one is linked to their account.
    pub staff_id: Option<String>,
    /// Sees any staff record at all.
    pub sees_staff: bool,
}

fn access_dto(a: &Access) -> ComplianceAccessDto {
    ComplianceAccessDto {
        user_id: a.user_id.clone(),
        admin: a.admin,
        manager: a.is_manager(),
        staff_id: a.staff_id.clone(),
        sees_staff: a.sees_staff(),
    }
}

/// One field of a checklist item, as the form draws it.
#[derive(Clone, Debug, Serialize, TS)]
pub struct CheckFieldDto {
    /// Its key in the item's details (and the name its errors carry).
    pub key: String,
    /// What a person reads.
    pub label: String,
    /// `text`, `date`, `yes_no`, `months` or `choice`.
    pub kind: String,
    /// The choices, for `choice`.
    pub choices: Vec<String>,
    /// A number never shown in full once saved.
    pub secret: bool,
}

/// One item of the checklist (Schedule 3 and the checks beside it).
#[derive(Clone, Debug, Serialize, TS)]
pub struct CheckItemDto {
    /// Its id (`dbs`).
    pub id: String,
    /// What a person reads.
    pub name: String,
    /// Its fields, in order.
    pub fields: Vec<CheckFieldDto>,
}

fn item_dto(i: &checks::ItemDef) -> CheckItemDto {
    CheckItemDto {
        id: i.id.into(),
        name: i.name.into(),
        fields: i
            .fields
            .iter()
            .map(|f| {
                let (kind, choices) = match f.kind {
                    checks::FieldKind::Text => ("text", Vec::new()),
                    checks::FieldKind::Date => ("date", Vec::new()),
                    checks::FieldKind::YesNo => ("yes_no", Vec::new()),
                    checks::FieldKind::Months => ("months", Vec::new()),
                    checks::FieldKind::Choice(c) => {
                        ("choice", c.iter().map(|s| s.to_string()).collect())
                    }
                };
                CheckFieldDto {
                    key: f.key.into(),
                    label: f.label.into(),
                    kind: kind.into(),
                    choices,
                    secret: f.secret,
                }
            })
            .collect(),
    }
}

/// A CQC quality statement.
#[derive(Clone, Debug, Serialize, TS)]
pub struct StatementDto {
    /// Its code (`S3`).
    pub id: String,
    /// `safe`, `effective`, `caring`, `responsive` or `well-led`.
    pub key_question: String,
    /// Its name.
    pub name: String,
}

pub(crate) fn statement_dto(s: crm_compliance::policies::Statement) -> StatementDto {
    StatementDto {
        id: s.id,
        key_question: s.key_question,
        name: s.name,
    }
}

/// A key question of the CQC's framework.
#[derive(Clone, Debug, Serialize, TS)]
pub struct KeyQuestionDto {
    /// `safe`, …
    pub id: String,
    /// `Safe`, …
    pub name: String,
}

/// What the compliance screens need before anything else: who is
/// looking, and the fixed lists their forms offer.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ComplianceMetaDto {
    /// Who is looking.
    pub access: ComplianceAccessDto,
    /// The recruitment checklist, in Schedule 3's order.
    pub items: Vec<CheckItemDto>,
    /// An item's statuses (`missing`, `received`, `verified`, `not_required`).
    pub statuses: Vec<String>,
    /// The five key questions, in the CQC's order.
    pub key_questions: Vec<KeyQuestionDto>,
    /// The 34 quality statements.
    pub statements: Vec<StatementDto>,
    /// Course categories.
    pub course_categories: Vec<String>,
    /// `supervision`, `appraisal`.
    pub meeting_kinds: Vec<String>,
    /// `policy`, `sop`.
    pub policy_kinds: Vec<String>,
    /// What a person says when they acknowledge a policy.
    pub ack_statement: String,
    /// How many days ahead "due soon" looks.
    #[ts(type = "number")]
    pub due_soon_days: i64,
    /// The largest evidence file taken, in bytes.
    #[ts(type = "number")]
    pub evidence_max_bytes: i64,
}

/// Which staff to list.
#[derive(Clone, Debug, Default, Deserialize, TS)]
pub struct StaffQueryArgs {
    /// Only this team.
    pub team: Option<String>,
    /// Only this role.
    pub role: Option<String>,
    /// Names containing this.
    pub text: Option<String>,
    /// Include people who have left.
    pub include_left: bool,
}

/// A staff record.
#[derive(Clone, Debug, Serialize, TS)]
pub struct StaffDto {
    /// Id.
    pub id: String,
    /// Full name.
    pub name: String,
    /// Job role.
    pub role: String,
    /// Team.
    pub team: Option<String>,
    /// Their manager's staff id.
    pub manager_id: Option<String>,
    /// Their manager's name.
    pub manager_name: Option<String>,
    /// First day (YYYY-MM-DD).
    pub start_date: String,
    /// Contract.
    pub contract: Option<String>,
    /// The user account they sign in with.
    pub user_id: Option<String>,
    /// Weeks between supervisions.
    #[ts(type = "number | null")]
    pub supervision_weeks: Option<i64>,
    /// Months between appraisals.
    #[ts(type = "number | null")]
    pub appraisal_months: Option<i64>,
    /// Last day, once they have left.
    pub left_date: Option<String>,
    /// Last change.
    pub updated_at: String,
}

fn staff_dto(s: staff::Staff) -> StaffDto {
    StaffDto {
        id: s.id,
        name: s.name,
        role: s.role,
        team: s.team,
        manager_id: s.manager_id,
        manager_name: s.manager_name,
        start_date: s.start_date,
        contract: s.contract,
        user_id: s.user_id,
        supervision_weeks: s.supervision_weeks,
        appraisal_months: s.appraisal_months,
        left_date: s.left_date,
        updated_at: s.updated_at,
    }
}

/// A staff record as typed (every field as text: "" is none; errors name
/// the field as it is named here).
#[derive(Clone, Debug, Default, Deserialize, TS)]
pub struct StaffForm {
    /// Full name.
    pub name: String,
    /// Job role, e.g. `carer`.
    pub role: String,
    /// Team.
    pub team: String,
    /// Their manager's staff id.
    pub manager_id: String,
    /// First day (YYYY-MM-DD or DD/MM/YYYY).
    pub start_date: String,
    /// Contract, e.g. `full-time`.
    pub contract: String,
    /// The user account they sign in with.
    pub user_id: String,
    /// Weeks between supervisions.
    pub supervision_weeks: String,
    /// Months between appraisals.
    pub appraisal_months: String,
    /// Last day of work.
    pub left_date: String,
}

fn staff_draft(f: &StaffForm) -> ApiResult<staff::StaffDraft> {
    Ok(staff::StaffDraft {
        name: f.name.clone(),
        role: f.role.clone(),
        team: Some(f.team.clone()),
        manager_id: Some(f.manager_id.clone()),
        start_date: f.start_date.clone(),
        contract: Some(f.contract.clone()),
        user_id: Some(f.user_id.clone()),
        supervision_weeks: whole("supervision_weeks", &f.supervision_weeks)?,
        appraisal_months: whole("appraisal_months", &f.appraisal_months)?,
        left_date: Some(f.left_date.clone()),
    })
}

/// An evidence file, as listed (its bytes stay in the profile).
#[derive(Clone, Debug, Serialize, TS)]
pub struct EvidenceDto {
    /// Id.
    pub id: String,
    /// The staff member it is about.
    pub staff_id: String,
    /// What it evidences: a checklist item's id, or `training`.
    pub item: String,
    /// The file's name.
    pub file_name: String,
    /// `pdf`, `png`, `jpeg`, `docx`.
    pub kind: String,
    /// Bytes.
    #[ts(type = "number")]
    pub size: i64,
    /// When added.
    pub added_at: String,
}

fn evidence_dto(e: evidence::Evidence) -> EvidenceDto {
    EvidenceDto {
        id: e.id,
        staff_id: e.staff_id,
        item: e.item,
        file_name: e.file_name,
        kind: e.kind,
        size: e.size,
        added_at: e.added_at,
    }
}

/// One item of one person's checklist.
#[derive(Clone, Debug, Serialize, TS)]
pub struct CheckDto {
    /// The item's id.
    pub item: String,
    /// What a person reads.
    pub name: String,
    /// `missing`, `received`, `verified`, `not_required`.
    pub status: String,
    /// The item's fields as text (dates YYYY-MM-DD, yes/no as `yes`/`no`);
    /// secret fields are never here.
    pub details: BTreeMap<String, String>,
    /// Secret fields recorded, by their last four characters
    /// (`ending 7890`).
    pub masked: BTreeMap<String, String>,
    /// A note.
    pub note: Option<String>,
    /// When it lapses (DBS recheck, right to work).
    pub expires: Option<String>,
    /// Where it stands today.
    pub standing: StandingDto,
    /// Evidence files held for it.
    pub evidence: Vec<EvidenceDto>,
    /// Last change.
    pub updated_at: Option<String>,
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn check_dto(c: checks::Check) -> CheckDto {
    let def = checks::item(c.item).ok();
    let secret = |k: &str| def.is_some_and(|d| d.fields.iter().any(|f| f.key == k && f.secret));
    let mut details = BTreeMap::new();
    let mut masked = BTreeMap::new();
    for (k, v) in &c.details {
        if secret(k) {
            masked.insert(k.clone(), checks::masked(&text_of(v)));
        } else {
            details.insert(k.clone(), text_of(v));
        }
    }
    CheckDto {
        item: c.item.into(),
        name: c.name.into(),
        status: c.status,
        details,
        masked,
        note: c.note,
        expires: c.expires,
        standing: c.standing.into(),
        evidence: c.evidence.into_iter().map(evidence_dto).collect(),
        updated_at: c.updated_at,
    }
}

/// An item of the checklist as typed.
#[derive(Clone, Debug, Default, Deserialize, TS)]
pub struct CheckArgs {
    /// `missing`, `received`, `verified` or `not_required`.
    pub status: String,
    /// The item's fields by key, as text ("" is none). A secret field
    /// left empty keeps the number recorded.
    pub details: BTreeMap<String, String>,
    /// Secret fields whose recorded number is to go.
    pub clear: Vec<String>,
    /// A note.
    pub note: String,
}

/// A training record.
#[derive(Clone, Debug, Serialize, TS)]
pub struct TrainingRecordDto {
    /// Id.
    pub id: String,
    /// The staff member.
    pub staff_id: String,
    /// The course.
    pub course_id: String,
    /// The course's name.
    pub course_name: String,
    /// Achieved (YYYY-MM-DD).
    pub achieved: String,
    /// Lapses after (none: never).
    pub expires: Option<String>,
    /// Who trained them.
    pub provider: Option<String>,
    /// Its certificate (an evidence file).
    pub evidence_id: Option<String>,
    /// Where it stands today.
    pub standing: StandingDto,
}

pub(crate) fn record_dto(
    r: crm_compliance::training::Record,
    today: chrono::NaiveDate,
) -> TrainingRecordDto {
    let standing =
        crm_compliance::dates::standing(crm_compliance::dates::stored(r.expires.as_deref()), today);
    TrainingRecordDto {
        id: r.id,
        staff_id: r.staff_id,
        course_id: r.course_id,
        course_name: r.course_name,
        achieved: r.achieved,
        expires: r.expires,
        provider: r.provider,
        evidence_id: r.evidence_id,
        standing: standing.into(),
    }
}

/// A supervision or appraisal held.
#[derive(Clone, Debug, Serialize, TS)]
pub struct MeetingDto {
    /// Id.
    pub id: String,
    /// The staff member.
    pub staff_id: String,
    /// `supervision` or `appraisal`.
    pub kind: String,
    /// When (YYYY-MM-DD).
    pub date: String,
    /// Who held it.
    pub supervisor: String,
    /// Notes.
    pub notes: Option<String>,
}

fn meeting_dto(m: supervision::Meeting) -> MeetingDto {
    MeetingDto {
        id: m.id,
        staff_id: m.staff_id,
        kind: m.kind,
        date: m.date,
        supervisor: m.supervisor,
        notes: m.notes,
    }
}

/// A supervision or appraisal as typed.
#[derive(Clone, Debug, Default, Deserialize, TS)]
pub struct MeetingForm {
    /// `supervision` or `appraisal`.
    pub kind: String,
    /// When it was held.
    pub date: String,
    /// Who held it.
    pub supervisor: String,
    /// Notes.
    pub notes: String,
}

/// Where a person's supervisions (or appraisals) stand.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ScheduleDto {
    /// `supervision` or `appraisal`.
    pub kind: String,
    /// The last one held.
    pub last: Option<String>,
    /// When the next is due (none: no schedule set).
    pub next_due: Option<String>,
    /// In date, due within 14 days, overdue (`expired`).
    pub standing: StandingDto,
}

/// A person's page: the record, the checklist, training, meetings.
#[derive(Clone, Debug, Serialize, TS)]
pub struct StaffDetailDto {
    /// The record.
    pub staff: StaffDto,
    /// Whether the person looking may change it.
    pub may_edit: bool,
    /// The checklist, every item listed.
    pub checks: Vec<CheckDto>,
    /// Training records, newest first.
    pub training: Vec<TrainingRecordDto>,
    /// Certificates and other training evidence.
    pub training_evidence: Vec<EvidenceDto>,
    /// Supervisions and appraisals held, newest first.
    pub meetings: Vec<MeetingDto>,
    /// When the next ones are due.
    pub schedules: Vec<ScheduleDto>,
}

fn today() -> chrono::NaiveDate {
    crm_compliance::dates::today()
}

impl App {
    /// Work on the profile's own store (which may create the compliance
    /// tables first) without counting it as a change: no hooks, no sync.
    pub(crate) fn compliance_store<T>(
        &self,
        f: impl FnOnce(&mut Store) -> ApiResult<T>,
    ) -> ApiResult<T> {
        let s = self.session()?;
        let mut store = crate::lock_store(&s)?;
        f(&mut store)
    }

    /// Who is looking, and the lists the compliance forms offer (the
    /// compliance tables are made here on first use).
    pub fn compliance_meta(&self) -> ApiResult<ComplianceMetaDto> {
        let statements = self.compliance_store(|s| {
            Ok(crm_compliance::policies::statements(s)?
                .into_iter()
                .map(statement_dto)
                .collect::<Vec<_>>())
        })?;
        let access = self.read(|s| Ok(Access::of(s)?))?;
        Ok(ComplianceMetaDto {
            access: access_dto(&access),
            items: checks::ITEMS.iter().map(item_dto).collect(),
            statuses: checks::STATUSES.iter().map(|s| s.to_string()).collect(),
            key_questions: crm_compliance::policies::KEY_QUESTIONS
                .iter()
                .map(|(id, name)| KeyQuestionDto {
                    id: (*id).into(),
                    name: (*name).into(),
                })
                .collect(),
            statements,
            course_categories: crm_compliance::training::CATEGORIES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            meeting_kinds: supervision::KINDS.iter().map(|s| s.to_string()).collect(),
            policy_kinds: crm_compliance::policies::KINDS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ack_statement: crm_compliance::readsign::STATEMENT.into(),
            due_soon_days: crm_compliance::dates::DUE_SOON_DAYS,
            evidence_max_bytes: evidence::MAX_BYTES as i64,
        })
    }

    /// The staff this person may see, by name.
    pub fn compliance_staff_list(&self, q: StaffQueryArgs) -> ApiResult<Vec<StaffDto>> {
        let q = staff::StaffQuery {
            team: q.team,
            role: q.role,
            text: q.text,
            include_left: q.include_left,
        };
        self.read(|s| Ok(staff::list(s, &q)?.into_iter().map(staff_dto).collect()))
    }

    /// A person's page.
    pub fn compliance_staff_get(&self, id: &str) -> ApiResult<StaffDetailDto> {
        let day = today();
        self.read(|s| {
            let st = staff::get(s, id)?;
            let may_edit = Access::of(s)?.may_edit(&st.id);
            let checks = checks::checklist(s, &st.id, day)?;
            let training = crm_compliance::training::records(s, &st.id)?;
            let training_evidence = evidence::list(s, &st.id)?
                .into_iter()
                .filter(|e| e.item == "training")
                .map(evidence_dto)
                .collect();
            let meetings = supervision::meetings(s, &st.id)?;
            let schedules = supervision::schedules(s, &st, day)?;
            Ok(StaffDetailDto {
                staff: staff_dto(st),
                may_edit,
                checks: checks.into_iter().map(check_dto).collect(),
                training: training.into_iter().map(|r| record_dto(r, day)).collect(),
                training_evidence,
                meetings: meetings.into_iter().map(meeting_dto).collect(),
                schedules: schedules
                    .into_iter()
                    .map(|sc| ScheduleDto {
                        kind: sc.kind.into(),
                        last: sc.last,
                        next_due: sc.next_due,
                        standing: sc.standing.into(),
                    })
                    .collect(),
            })
        })
    }

    /// Add a member of staff (admins; managers for people they will manage).
    pub fn compliance_staff_create(&self, form: StaffForm) -> ApiResult<StaffDto> {
        let d = staff_draft(&form)?;
        self.write(|s| Ok(staff_dto(staff::create(s, &d)?)))
    }

    /// Change a staff record: every field as given.
    pub fn compliance_staff_update(&self, id: &str, form: StaffForm) -> ApiResult<StaffDto> {
        let d = staff_draft(&form)?;
        self.write(|s| Ok(staff_dto(staff::update(s, id, &d)?)))
    }

    /// Record an item of a person's checklist. A secret number left empty
    /// keeps the one recorded (the window never has it), unless `clear`
    /// names it.
    pub fn compliance_check_set(
        &self,
        staff_id: &str,
        item: &str,
        args: CheckArgs,
    ) -> ApiResult<CheckDto> {
        let def = checks::item(item)?;
        let day = today();
        self.write(|s| {
            let before = checks::checklist(s, staff_id, day)?
                .into_iter()
                .find(|c| c.item == def.id);
            let mut details = Map::new();
            for (k, v) in &args.details {
                details.insert(k.clone(), Value::String(v.clone()));
            }
            for f in def.fields.iter().filter(|f| f.secret) {
                let typed = args
                    .details
                    .get(f.key)
                    .is_some_and(|v| !v.trim().is_empty());
                let cleared = args.clear.iter().any(|c| c == f.key);
                if typed || cleared {
                    continue;
                }
                if let Some(old) = before.as_ref().and_then(|c| c.details.get(f.key)) {
                    details.insert(f.key.to_string(), old.clone());
                }
            }
            let c = checks::set(
                s,
                staff_id,
                def.id,
                &args.status,
                &details,
                Some(args.note.as_str()),
            )?;
            Ok(check_dto(c))
        })
    }

    /// Keep a file (PDF, Word, PNG or JPEG, up to 20 MB) as evidence for an
    /// item of a person's checklist (or `training`), inside the profile.
    pub fn compliance_evidence_add(
        &self,
        staff_id: &str,
        item: &str,
        path: &str,
    ) -> ApiResult<EvidenceDto> {
        let path = path.trim();
        if path.is_empty() {
            return Err(ApiError::invalid(
                "evidence_file",
                "choose the file to keep as evidence",
            ));
        }
        let (name, bytes) = evidence::read_file(Path::new(path))?;
        self.write(|s| {
            Ok(evidence_dto(evidence::add(
                s, staff_id, item, &name, &bytes,
            )?))
        })
    }

    /// Write a copy of an evidence file to `path` (the person chose it).
    pub fn compliance_evidence_save(&self, id: &str, path: &str) -> ApiResult<EvidenceDto> {
        let path = path.trim();
        if path.is_empty() {
            return Err(ApiError::invalid("path", "choose where to save the file"));
        }
        let (ev, bytes) = self.read(|s| Ok(evidence::bytes(s, id)?))?;
        std::fs::write(path, bytes)
            .map_err(|e| ApiError::new(ErrorCode::Io, format!("{path}: {e}")))?;
        Ok(evidence_dto(ev))
    }

    /// Record a supervision or appraisal held.
    pub fn compliance_meeting_record(
        &self,
        staff_id: &str,
        form: MeetingForm,
    ) -> ApiResult<MeetingDto> {
        let day = today();
        self.write(|s| {
            Ok(meeting_dto(supervision::record(
                s,
                staff_id,
                &form.kind,
                &form.date,
                &form.supervisor,
                Some(form.notes.as_str()),
                day,
            )?))
        })
    }
}
