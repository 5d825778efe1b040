//! The Compliance screens' training side: the courses (an admin's list),
//! training records with their certificates, and the matrix of staff by
//! course. The matrix crosses in one command, whole: the crate reads every
//! person's latest record of every course in one query, and the window
//! filters it where it is (300 people by 40 courses is 12,000 cells).

use std::path::Path;

use crm_compliance::training::{self, CourseDraft, MatrixQuery, RecordDraft};
use crm_compliance::{dates, evidence};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::compliance::{record_dto, whole, StandingDto, TrainingRecordDto};
use crate::{ApiError, ApiResult, App};

/// A course (a column of the matrix).
#[derive(Clone, Debug, Serialize, TS)]
pub struct CourseDto {
    /// Its id (a slug).
    pub id: String,
    /// Its name.
    pub name: String,
    /// `mandatory`, `care_certificate` or `other`.
    pub category: String,
    /// Months until it must be done again (none: never lapses).
    #[ts(type = "number | null")]
    pub renewal_months: Option<i64>,
    /// Whether it is in the matrix.
    pub active: bool,
}

fn course_dto(c: training::Course) -> CourseDto {
    CourseDto {
        id: c.id,
        name: c.name,
        category: c.category,
        renewal_months: c.renewal_months,
        active: c.active,
    }
}

/// A course as an admin types it.
#[derive(Clone, Debug, Default, Deserialize, TS)]
pub struct CourseForm {
    /// Its name.
    pub name: String,
    /// `mandatory`, `care_certificate` or `other`.
    pub category: String,
    /// Months until renewal ("": never lapses).
    pub renewal_months: String,
    /// In the matrix.
    pub active: bool,
}

fn course_draft(f: &CourseForm) -> ApiResult<CourseDraft> {
    Ok(CourseDraft {
        name: f.name.clone(),
        category: f.category.clone(),
        renewal_months: whole("renewal_months", &f.renewal_months)?,
        active: f.active,
    })
}

/// Training someone achieved, as typed.
#[derive(Clone, Debug, Default, Deserialize, TS)]
pub struct TrainingForm {
    /// The staff member's id.
    pub staff_id: String,
    /// The course's id or name.
    pub course: String,
    /// When achieved (YYYY-MM-DD or DD/MM/YYYY).
    pub achieved: String,
    /// When it lapses, if the certificate says ("": the course's renewal
    /// period from `achieved`).
    pub expires: String,
    /// Who trained them.
    pub provider: String,
    /// The certificate's file ("": none), kept inside the profile with the
    /// record (both or neither).
    pub certificate_path: String,
}

/// Which part of the matrix to send (all empty: the whole of it).
#[derive(Clone, Debug, Default, Deserialize, TS)]
pub struct MatrixQueryArgs {
    /// Only this team.
    pub team: Option<String>,
    /// Only this role.
    pub role: Option<String>,
    /// Only courses of this category.
    pub category: Option<String>,
    /// Only this course (id or name).
    pub course: Option<String>,
    /// Only people with a course in this standing.
    pub standing: Option<String>,
    /// Names containing this.
    pub text: Option<String>,
}

/// One cell: a person's latest record of a course.
#[derive(Clone, Debug, Serialize, TS)]
pub struct MatrixCellDto {
    /// Valid, due soon, expired or missing.
    pub standing: StandingDto,
    /// Achieved (latest record).
    pub achieved: Option<String>,
    /// Lapses after.
    pub expires: Option<String>,
}

/// One person's row.
#[derive(Clone, Debug, Serialize, TS)]
pub struct MatrixRowDto {
    /// The staff member.
    pub staff_id: String,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: String,
    /// Their team.
    pub team: Option<String>,
    /// One cell per course, in the courses' order.
    pub cells: Vec<MatrixCellDto>,
}

/// How one course stands across the rows sent.
#[derive(Clone, Debug, Serialize, TS)]
pub struct CourseTotalsDto {
    /// Valid.
    pub valid: u32,
    /// Due soon.
    pub due_soon: u32,
    /// Expired.
    pub expired: u32,
    /// Missing.
    pub missing: u32,
    /// In date, percent of the rows (100 with none).
    pub compliant_percent: f64,
}

/// The training matrix: staff by course.
#[derive(Clone, Debug, Serialize, TS)]
pub struct MatrixDto {
    /// The day it is for (YYYY-MM-DD).
    pub today: String,
    /// The courses (columns).
    pub courses: Vec<CourseDto>,
    /// The staff (rows), by name.
    pub rows: Vec<MatrixRowDto>,
    /// Per course, in the courses' order.
    pub totals: Vec<CourseTotalsDto>,
}

impl App {
    /// The courses (inactive ones too when asked).
    pub fn compliance_courses(&self, include_inactive: bool) -> ApiResult<Vec<CourseDto>> {
        self.read(|s| {
            Ok(training::courses(s, include_inactive)?
                .into_iter()
                .map(course_dto)
                .collect())
        })
    }

    /// Add a course (admins).
    pub fn compliance_course_add(&self, form: CourseForm) -> ApiResult<CourseDto> {
        let d = course_draft(&form)?;
        self.write(|s| Ok(course_dto(training::add_course(s, &d)?)))
    }

    /// Change a course (admins); records keep the expiry they were given.
    pub fn compliance_course_edit(&self, id: &str, form: CourseForm) -> ApiResult<CourseDto> {
        let d = course_draft(&form)?;
        self.write(|s| Ok(course_dto(training::edit_course(s, id, &d)?)))
    }

    /// Record training someone achieved, with its certificate when given
    /// (checked by its bytes; both are kept or neither).
    pub fn compliance_training_record(&self, form: TrainingForm) -> ApiResult<TrainingRecordDto> {
        if form.course.trim().is_empty() {
            return Err(ApiError::invalid("course", "choose the course"));
        }
        let certificate = match form.certificate_path.trim() {
            "" => None,
            p => Some(evidence::read_file(Path::new(p))?),
        };
        let day = dates::today();
        let draft = RecordDraft {
            staff_id: form.staff_id.clone(),
            course: form.course.clone(),
            achieved: form.achieved.clone(),
            expires: Some(form.expires.clone()),
            provider: Some(form.provider.clone()),
            evidence_id: None,
        };
        self.write(|s| {
            let r = training::record(
                s,
                &draft,
                certificate
                    .as_ref()
                    .map(|(name, bytes)| (name.as_str(), bytes.as_slice())),
                day,
            )?;
            Ok(record_dto(r, day))
        })
    }

    /// The training matrix for the staff this person may see, in one
    /// piece.
    pub fn compliance_matrix(&self, q: MatrixQueryArgs) -> ApiResult<MatrixDto> {
        let q = MatrixQuery {
            team: q.team,
            role: q.role,
            category: q.category,
            course: q.course,
            standing: q.standing,
            text: q.text,
        };
        let day = dates::today();
        self.read(|s| {
            let m = training::matrix(s, &q, day)?;
            Ok(MatrixDto {
                today: m.today,
                courses: m.courses.into_iter().map(course_dto).collect(),
                rows: m
                    .rows
                    .into_iter()
                    .map(|r| MatrixRowDto {
                        staff_id: r.staff_id,
                        name: r.name,
                        role: r.role,
                        team: r.team,
                        cells: r
                            .cells
                            .into_iter()
                            .map(|c| MatrixCellDto {
                                standing: c.standing.into(),
                                achieved: c.achieved,
                                expires: c.expires,
                            })
                            .collect(),
                    })
                    .collect(),
                totals: m
                    .totals
                    .into_iter()
                    .map(|t| CourseTotalsDto {
                        valid: t.valid as u32,
                        due_soon: t.due_soon as u32,
                        expired: t.expired as u32,
                        missing: t.missing as u32,
                        compliant_percent: t.compliant_percent,
                    })
                    .collect(),
            })
        })
    }
}
