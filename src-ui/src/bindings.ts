// Generated from the Rust types in crates/app/src/dto.rs by ts-rs. Do not edit:
// run `UPDATE_BINDINGS=1 cargo test -p crm-app --test bindings` after changing them.

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;

export type ContactKind = "person" | "company";

export type Stage = "prospect" | "client" | "lapsed";

export type PaymentFrequency = "monthly" | "quarterly" | "semi_annual" | "annual" | "single";

export type PolicyStatus = "quoted" | "active" | "lapsed" | "cancelled" | "expired";

export type PaymentMethod = "direct_debit" | "card" | "bank_transfer" | "cash" | "cheque";

export type TaskStatus = "open" | "done" | "cancelled";

export type ActivityKind = "note" | "call" | "email" | "meeting" | "status_change";

export type ContactFieldName = "kind" | "display_name" | "first_name" | "last_name" | "company_name" | "job_title" | "stage" | "owner" | "tags" | "emails" | "phones" | "address_line1" | "address_line2" | "city" | "region" | "postcode" | "country" | "source" | "external_id" | "date_of_birth" | "custom" | "preferred_contact_method";

export type DocumentDto = { 
/**
 * Id.
 */
id: string, 
/**
 * Title.
 */
title: string, 
/**
 * The file its latest version was added from.
 */
file_name: string, 
/**
 * `draft`, `published` or `retired`.
 */
status: string, 
/**
 * Who may see it: `everyone`, `role:R`, `team:T`.
 */
audience: Array<string>, 
/**
 * Who answers for it.
 */
owner: string | null, 
/**
 * From when it applies.
 */
effective_date: string | null, 
/**
 * When it is next reviewed.
 */
review_date: string | null, 
/**
 * The version people see.
 */
live_version: number | null, 
/**
 * The newest version.
 */
latest_version: number, 
/**
 * `indexed`, `needs_ocr` or `failed` (the latest version's file).
 */
state: string, 
/**
 * Why it is not indexed.
 */
reason: string | null, 
/**
 * Pages of the latest version.
 */
pages: number, 
/**
 * Last change.
 */
updated_at: string, };

export type DocumentPageDto = { 
/**
 * The documents, by title.
 */
documents: Array<DocumentDto>, 
/**
 * How many match in all.
 */
total: number, 
/**
 * Whether this person may change the library.
 */
admin: boolean, };

export type DocsQueryArgs = { 
/**
 * Title or file name contains.
 */
text: string | null, 
/**
 * `draft`, `published` or `retired`; none: all.
 */
status: string | null, 
/**
 * Skip this many.
 */
offset: number, 
/**
 * At most this many (1 to 200).
 */
limit: number, };

export type DocVersionDto = { 
/**
 * Its number.
 */
version: number, 
/**
 * The file it was added from.
 */
file_name: string, 
/**
 * `pdf`, `docx`, `html`, `markdown`, `text`.
 */
kind: string, 
/**
 * Bytes.
 */
size: number, 
/**
 * `indexed`, `needs_ocr`, `failed`.
 */
state: string, 
/**
 * Why it is not indexed.
 */
reason: string | null, 
/**
 * What changed.
 */
change_note: string | null, 
/**
 * Pages.
 */
pages: number, 
/**
 * When it was added.
 */
added_at: string, 
/**
 * By whom.
 */
added_by: string, 
/**
 * The version people see.
 */
live: boolean, };

export type DocAddArgs = { 
/**
 * Files and folders.
 */
paths: Array<string>, 
/**
 * Who may see them; empty: everyone.
 */
audience: Array<string>, 
/**
 * Keep them as drafts.
 */
draft: boolean, 
/**
 * What changed (for new versions).
 */
change_note: string | null, };

export type DocAddedDto = { 
/**
 * The file.
 */
path: string, 
/**
 * The document it is part of.
 */
document_id: string | null, 
/**
 * Its version.
 */
version: number | null, 
/**
 * `indexed`, `needs_ocr`, `failed`, `skipped` or `unchanged`.
 */
status: string, 
/**
 * Why, or what to do.
 */
reason: string | null, 
/**
 * Pages read.
 */
pages: number, };

export type DocAddProgressDto = { 
/**
 * Files finished.
 */
done: number, 
/**
 * Files in all.
 */
total: number, 
/**
 * The file just finished.
 */
last: DocAddedDto, };

export type DocDetailsArgs = { 
/**
 * Title.
 */
title: string, 
/**
 * Who answers for it ("" clears).
 */
owner: string, 
/**
 * From when it applies, `YYYY-MM-DD` ("" clears).
 */
effective_date: string, 
/**
 * Next review, `YYYY-MM-DD` ("" clears).
 */
review_date: string, };

export type DocHitDto = { 
/**
 * Its document.
 */
document_id: string, 
/**
 * The document's title.
 */
title: string, 
/**
 * The file's name.
 */
file_name: string, 
/**
 * Version.
 */
version: number, 
/**
 * Page (none for formats without pages).
 */
page: number | null, 
/**
 * Headings above it.
 */
heading: string, 
/**
 * The passage.
 */
text: string, 
/**
 * Relevance.
 */
score: number, 
/**
 * Its id.
 */
passage_id: number, 
/**
 * Start on its page, characters.
 */
start: number, 
/**
 * End on its page, characters.
 */
end: number, 
/**
 * What matched in `text`: [start, end) in characters.
 */
highlights: Array<[number, number]>, 
/**
 * `Title, v2, page 3`.
 */
citation: string, };

export type DocAnswerDto = { 
/**
 * The question.
 */
question: string, 
/**
 * The answer, citing sources as [1], [2]…
 */
answer: string, 
/**
 * The sources, numbered from 1.
 */
sources: Array<DocHitDto>, 
/**
 * The model that wrote it; none: the best passages.
 */
model: string | null, 
/**
 * Why there is no model answer.
 */
note: string | null, };

export type DocPageViewDto = { 
/**
 * The document.
 */
document_id: string, 
/**
 * Its title.
 */
title: string, 
/**
 * The version shown.
 */
version: number, 
/**
 * The page shown (1 for formats without pages).
 */
page: number, 
/**
 * Pages in the version.
 */
pages: number, 
/**
 * Whether the pages are real pages (PDF, Word) rather than one long text.
 */
paged: boolean, 
/**
 * The page's text.
 */
text: string, };

export type StandingDto = "valid" | "due_soon" | "expired" | "missing";

export type ComplianceAccessDto = { 
/**
 * Their user id (`local` on a profile never signed in).
 */
user_id: string, 
/**
 * An admin (or the owner of a one-person profile).
 */
admin: boolean, 
/**
 * Manages someone (sees and changes their people's records).
 */
manager: boolean, 
/**
 * Their own staff record, when one is linked to their account.
 */
staff_id: string | null, 
/**
 * Sees any staff record at all.
 */
sees_staff: boolean, };

export type CheckFieldDto = { 
/**
 * Its key in the item's details (and the name its errors carry).
 */
key: string, 
/**
 * What a person reads.
 */
label: string, 
/**
 * `text`, `date`, `yes_no`, `months` or `choice`.
 */
kind: string, 
/**
 * The choices, for `choice`.
 */
choices: Array<string>, 
/**
 * A number never shown in full once saved.
 */
secret: boolean, };

export type CheckItemDto = { 
/**
 * Its id (`dbs`).
 */
id: string, 
/**
 * What a person reads.
 */
name: string, 
/**
 * Its fields, in order.
 */
fields: Array<CheckFieldDto>, };

export type StatementDto = { 
/**
 * Its code (`S3`).
 */
id: string, 
/**
 * `safe`, `effective`, `caring`, `responsive` or `well-led`.
 */
key_question: string, 
/**
 * Its name.
 */
name: string, };

export type KeyQuestionDto = { 
/**
 * `safe`, …
 */
id: string, 
/**
 * `Safe`, …
 */
name: string, };

export type ComplianceMetaDto = { 
/**
 * Who is looking.
 */
access: ComplianceAccessDto, 
/**
 * The recruitment checklist, in Schedule 3's order.
 */
items: Array<CheckItemDto>, 
/**
 * An item's statuses (`missing`, `received`, `verified`, `not_required`).
 */
statuses: Array<string>, 
/**
 * The five key questions, in the CQC's order.
 */
key_questions: Array<KeyQuestionDto>, 
/**
 * The 34 quality statements.
 */
statements: Array<StatementDto>, 
/**
 * Course categories.
 */
course_categories: Array<string>, 
/**
 * `supervision`, `appraisal`.
 */
meeting_kinds: Array<string>, 
/**
 * `policy`, `sop`.
 */
policy_kinds: Array<string>, 
/**
 * What a person says when they acknowledge a policy.
 */
ack_statement: string, 
/**
 * How many days ahead "due soon" looks.
 */
due_soon_days: number, 
/**
 * The largest evidence file taken, in bytes.
 */
evidence_max_bytes: number, };

export type StaffQueryArgs = { 
/**
 * Only this team.
 */
team: string | null, 
/**
 * Only this role.
 */
role: string | null, 
/**
 * Names containing this.
 */
text: string | null, 
/**
 * Include people who have left.
 */
include_left: boolean, };

export type StaffDto = { 
/**
 * Id.
 */
id: string, 
/**
 * Full name.
 */
name: string, 
/**
 * Job role.
 */
role: string, 
/**
 * Team.
 */
team: string | null, 
/**
 * Their manager's staff id.
 */
manager_id: string | null, 
/**
 * Their manager's name.
 */
manager_name: string | null, 
/**
 * First day (YYYY-MM-DD).
 */
start_date: string, 
/**
 * Contract.
 */
contract: string | null, 
/**
 * The user account they sign in with.
 */
user_id: string | null, 
/**
 * Weeks between supervisions.
 */
supervision_weeks: number | null, 
/**
 * Months between appraisals.
 */
appraisal_months: number | null, 
/**
 * Last day, once they have left.
 */
left_date: string | null, 
/**
 * Last change.
 */
updated_at: string, };

export type StaffForm = { 
/**
 * Full name.
 */
name: string, 
/**
 * Job role, e.g. `carer`.
 */
role: string, 
/**
 * Team.
 */
team: string, 
/**
 * Their manager's staff id.
 */
manager_id: string, 
/**
 * First day (YYYY-MM-DD or DD/MM/YYYY).
 */
start_date: string, 
/**
 * Contract, e.g. `full-time`.
 */
contract: string, 
/**
 * The user account they sign in with.
 */
user_id: string, 
/**
 * Weeks between supervisions.
 */
supervision_weeks: string, 
/**
 * Months between appraisals.
 */
appraisal_months: string, 
/**
 * Last day of work.
 */
left_date: string, };

export type EvidenceDto = { 
/**
 * Id.
 */
id: string, 
/**
 * The staff member it is about.
 */
staff_id: string, 
/**
 * What it evidences: a checklist item's id, or `training`.
 */
item: string, 
/**
 * The file's name.
 */
file_name: string, 
/**
 * `pdf`, `png`, `jpeg`, `docx`.
 */
kind: string, 
/**
 * Bytes.
 */
size: number, 
/**
 * When added.
 */
added_at: string, };

export type CheckDto = { 
/**
 * The item's id.
 */
item: string, 
/**
 * What a person reads.
 */
name: string, 
/**
 * `missing`, `received`, `verified`, `not_required`.
 */
status: string, 
/**
 * The item's fields as text (dates YYYY-MM-DD, yes/no as `yes`/`no`);
 * secret fields are never here.
 */
details: { [key in string]?: string }, 
/**
 * Secret fields recorded, by their last four characters
 * (`ending 7890`).
 */
masked: { [key in string]?: string }, 
/**
 * A note.
 */
note: string | null, 
/**
 * When it lapses (DBS recheck, right to work).
 */
expires: string | null, 
/**
 * Where it stands today.
 */
standing: StandingDto, 
/**
 * Evidence files held for it.
 */
evidence: Array<EvidenceDto>, 
/**
 * Last change.
 */
updated_at: string | null, };

export type CheckArgs = { 
/**
 * `missing`, `received`, `verified` or `not_required`.
 */
status: string, 
/**
 * The item's fields by key, as text ("" is none). A secret field
 * left empty keeps the number recorded.
 */
details: { [key in string]?: string }, 
/**
 * Secret fields whose recorded number is to go.
 */
clear: Array<string>, 
/**
 * A note.
 */
note: string, };

export type TrainingRecordDto = { 
/**
 * Id.
 */
id: string, 
/**
 * The staff member.
 */
staff_id: string, 
/**
 * The course.
 */
course_id: string, 
/**
 * The course's name.
 */
course_name: string, 
/**
 * Achieved (YYYY-MM-DD).
 */
achieved: string, 
/**
 * Lapses after (none: never).
 */
expires: string | null, 
/**
 * Who trained them.
 */
provider: string | null, 
/**
 * Its certificate (an evidence file).
 */
evidence_id: string | null, 
/**
 * Where it stands today.
 */
standing: StandingDto, };

export type MeetingDto = { 
/**
 * Id.
 */
id: string, 
/**
 * The staff member.
 */
staff_id: string, 
/**
 * `supervision` or `appraisal`.
 */
kind: string, 
/**
 * When (YYYY-MM-DD).
 */
date: string, 
/**
 * Who held it.
 */
supervisor: string, 
/**
 * Notes.
 */
notes: string | null, };

export type MeetingForm = { 
/**
 * `supervision` or `appraisal`.
 */
kind: string, 
/**
 * When it was held.
 */
date: string, 
/**
 * Who held it.
 */
supervisor: string, 
/**
 * Notes.
 */
notes: string, };

export type ScheduleDto = { 
/**
 * `supervision` or `appraisal`.
 */
kind: string, 
/**
 * The last one held.
 */
last: string | null, 
/**
 * When the next is due (none: no schedule set).
 */
next_due: string | null, 
/**
 * In date, due within 14 days, overdue (`expired`).
 */
standing: StandingDto, };

export type StaffDetailDto = { 
/**
 * The record.
 */
staff: StaffDto, 
/**
 * Whether the person looking may change it.
 */
may_edit: boolean, 
/**
 * The checklist, every item listed.
 */
checks: Array<CheckDto>, 
/**
 * Training records, newest first.
 */
training: Array<TrainingRecordDto>, 
/**
 * Certificates and other training evidence.
 */
training_evidence: Array<EvidenceDto>, 
/**
 * Supervisions and appraisals held, newest first.
 */
meetings: Array<MeetingDto>, 
/**
 * When the next ones are due.
 */
schedules: Array<ScheduleDto>, };

export type CourseDto = { 
/**
 * Its id (a slug).
 */
id: string, 
/**
 * Its name.
 */
name: string, 
/**
 * `mandatory`, `care_certificate` or `other`.
 */
category: string, 
/**
 * Months until it must be done again (none: never lapses).
 */
renewal_months: number | null, 
/**
 * Whether it is in the matrix.
 */
active: boolean, };

export type CourseForm = { 
/**
 * Its name.
 */
name: string, 
/**
 * `mandatory`, `care_certificate` or `other`.
 */
category: string, 
/**
 * Months until renewal ("": never lapses).
 */
renewal_months: string, 
/**
 * In the matrix.
 */
active: boolean, };

export type TrainingForm = { 
/**
 * The staff member's id.
 */
staff_id: string, 
/**
 * The course's id or name.
 */
course: string, 
/**
 * When achieved (YYYY-MM-DD or DD/MM/YYYY).
 */
achieved: string, 
/**
 * When it lapses, if the certificate says ("": the course's renewal
 * period from `achieved`).
 */
expires: string, 
/**
 * Who trained them.
 */
provider: string, 
/**
 * The certificate's file ("": none), kept inside the profile with the
 * record (both or neither).
 */
certificate_path: string, };

export type MatrixQueryArgs = { 
/**
 * Only this team.
 */
team: string | null, 
/**
 * Only this role.
 */
role: string | null, 
/**
 * Only courses of this category.
 */
category: string | null, 
/**
 * Only this course (id or name).
 */
course: string | null, 
/**
 * Only people with a course in this standing.
 */
standing: string | null, 
/**
 * Names containing this.
 */
text: string | null, };

export type MatrixCellDto = { 
/**
 * Valid, due soon, expired or missing.
 */
standing: StandingDto, 
/**
 * Achieved (latest record).
 */
achieved: string | null, 
/**
 * Lapses after.
 */
expires: string | null, };

export type MatrixRowDto = { 
/**
 * The staff member.
 */
staff_id: string, 
/**
 * Their name.
 */
name: string, 
/**
 * Their role.
 */
role: string, 
/**
 * Their team.
 */
team: string | null, 
/**
 * One cell per course, in the courses' order.
 */
cells: Array<MatrixCellDto>, };

export type CourseTotalsDto = { 
/**
 * Valid.
 */
valid: number, 
/**
 * Due soon.
 */
due_soon: number, 
/**
 * Expired.
 */
expired: number, 
/**
 * Missing.
 */
missing: number, 
/**
 * In date, percent of the rows (100 with none).
 */
compliant_percent: number, };

export type MatrixDto = { 
/**
 * The day it is for (YYYY-MM-DD).
 */
today: string, 
/**
 * The courses (columns).
 */
courses: Array<CourseDto>, 
/**
 * The staff (rows), by name.
 */
rows: Array<MatrixRowDto>, 
/**
 * Per course, in the courses' order.
 */
totals: Array<CourseTotalsDto>, };

export type CompliancePolicyDto = { 
/**
 * The document's id.
 */
doc_id: string, 
/**
 * Its title.
 */
title: string, 
/**
 * `policy` or `sop`.
 */
kind: string, 
/**
 * Who answers for it.
 */
owner: string, 
/**
 * Months between reviews.
 */
review_months: number, 
/**
 * Next review (YYYY-MM-DD).
 */
next_review: string, 
/**
 * Last review.
 */
last_review: string | null, 
/**
 * Review standing today: valid, due soon, overdue (`expired`).
 */
review: StandingDto, 
/**
 * `draft`, `awaiting_approval`, `approved` or `published` (the newest
 * readable version's step).
 */
approval: string, 
/**
 * The document's status: `draft`, `published`, `retired`.
 */
status: string, 
/**
 * The version in force.
 */
live_version: number | null, 
/**
 * The newest readable version.
 */
readable_version: number | null, 
/**
 * Who submitted the version awaiting approval (a user id).
 */
submitted_by: string | null, 
/**
 * The version approved.
 */
approved_version: number | null, 
/**
 * Who approved it.
 */
approved_by: string | null, 
/**
 * When.
 */
approved_at: string | null, 
/**
 * Acknowledgements count from this version.
 */
ack_from_version: number | null, 
/**
 * Who drafted it.
 */
drafted_by: string, 
/**
 * The quality statements it evidences (codes such as `S3`).
 */
statements: Array<string>, };

export type CompliancePolicyForm = { 
/**
 * `policy` or `sop`.
 */
kind: string, 
/**
 * Who answers for it.
 */
owner: string, 
/**
 * Months between reviews (12 is usual).
 */
review_months: string, 
/**
 * The quality statements it evidences (codes such as `S3`).
 */
statements: Array<string>, };

export type AssignmentDto = { 
/**
 * Id.
 */
id: string, 
/**
 * The policy.
 */
doc_id: string, 
/**
 * `role:R`, `team:T` or `staff:ID`.
 */
target: string, 
/**
 * Due (YYYY-MM-DD).
 */
due: string, };

export type AckStateDto = "done" | "pending" | "overdue";

export type PersonAckDto = { 
/**
 * The staff member.
 */
staff_id: string, 
/**
 * Their name.
 */
name: string, 
/**
 * Their team.
 */
team: string | null, 
/**
 * Due (the earliest of their assignments).
 */
due: string, 
/**
 * Done, pending, overdue.
 */
state: AckStateDto, 
/**
 * When they acknowledged.
 */
at: string | null, 
/**
 * Which version.
 */
version: number | null, };

export type AckStatusDto = { 
/**
 * The version in force.
 */
version: number | null, 
/**
 * Acknowledgements count from this version.
 */
from_version: number | null, 
/**
 * Everyone assigned whom the person looking may see.
 */
people: Array<PersonAckDto>, 
/**
 * Done.
 */
done: number, 
/**
 * Pending.
 */
pending: number, 
/**
 * Overdue.
 */
overdue: number, 
/**
 * Done, percent of people (100 with nobody assigned).
 */
percent: number, };

export type PolicyDetailDto = { 
/**
 * The policy.
 */
policy: CompliancePolicyDto, 
/**
 * Who must read it by when.
 */
assignments: Array<AssignmentDto>, 
/**
 * Who has read and signed it.
 */
status: AckStatusDto, };

export type ReadingDto = { 
/**
 * The policy.
 */
policy: CompliancePolicyDto, 
/**
 * Due.
 */
due: string, 
/**
 * Done, pending or overdue.
 */
state: AckStateDto, 
/**
 * When they acknowledged (the version that counts).
 */
at: string | null, 
/**
 * Which version.
 */
version: number | null, };

export type AckDto = { 
/**
 * The policy.
 */
doc_id: string, 
/**
 * The version acknowledged.
 */
version: number, 
/**
 * When (RFC 3339).
 */
at: string, 
/**
 * What they said.
 */
statement: string, };

export type CoverageDto = { 
/**
 * The statement.
 */
statement: StatementDto, 
/**
 * Published policies linked to it, review not overdue (document ids).
 */
current: Array<string>, 
/**
 * Linked but not current.
 */
stale: Array<string>, };

export type ComplianceDashboardDto = { 
/**
 * The day it is for.
 */
today: string, 
/**
 * Reviews due within 60 days.
 */
due_for_review: Array<CompliancePolicyDto>, 
/**
 * Reviews overdue.
 */
overdue: Array<CompliancePolicyDto>, 
/**
 * Versions waiting for a second admin.
 */
awaiting_approval: Array<CompliancePolicyDto>, 
/**
 * Approved, not yet published.
 */
approved: Array<CompliancePolicyDto>, 
/**
 * Quality statements with no current evidence.
 */
uncovered: Array<StatementDto>, 
/**
 * Every statement and what evidences it.
 */
coverage: Array<CoverageDto>, };

export type ReminderDto = { 
/**
 * `acknowledgement.due`, `acknowledgement.overdue`,
 * `document.review_due` or `training.expiring`.
 */
kind: string, 
/**
 * The task's title.
 */
title: string, 
/**
 * The task's due date.
 */
due: string, 
/**
 * The task.
 */
task_id: string, 
/**
 * The staff member it is about.
 */
staff_id: string | null, 
/**
 * The policy it is about.
 */
doc_id: string | null, 
/**
 * The course it is about.
 */
course_id: string | null, };

export type PackCourseDto = { 
/**
 * The course.
 */
course: string, 
/**
 * Valid.
 */
valid: number, 
/**
 * Due within 60 days.
 */
due_soon: number, 
/**
 * Expired.
 */
expired: number, 
/**
 * Never done.
 */
missing: number, 
/**
 * In date, percent.
 */
percent: number, };

export type PackVettingDto = { 
/**
 * Name.
 */
name: string, 
/**
 * Role.
 */
role: string, 
/**
 * DBS: level, issue date, the certificate's last four characters.
 */
dbs: string, 
/**
 * DBS standing.
 */
dbs_standing: StandingDto, 
/**
 * Right to work.
 */
right_to_work: string, 
/**
 * Right to work standing.
 */
rtw_standing: StandingDto, };

export type PackKeyQuestionDto = { 
/**
 * `safe`, …
 */
id: string, 
/**
 * `Safe`, …
 */
name: string, 
/**
 * Its quality statements.
 */
statements: number, 
/**
 * Those evidenced by a policy in force.
 */
evidenced: number, };

export type PackDto = { 
/**
 * The PDF.
 */
pdf: string, 
/**
 * The CSV of the same figures beside it.
 */
csv: string, 
/**
 * The day it describes.
 */
today: string, 
/**
 * Staff in post.
 */
staff: number, 
/**
 * Training in date, percent of cells.
 */
training_percent: number, 
/**
 * Read-and-sign, percent.
 */
ack_percent: number, 
/**
 * Supervision in date, percent.
 */
supervision_percent: number, 
/**
 * By key question.
 */
key_questions: Array<PackKeyQuestionDto>, 
/**
 * Training per course.
 */
training: Array<PackCourseDto>, 
/**
 * Vetting per person.
 */
vetting: Array<PackVettingDto>, 
/**
 * What is missing or lapsed, one sentence each.
 */
gaps: Array<string>, };

export type ApiError = { 
/**
 * What kind of failure it is.
 */
code: ErrorCode, 
/**
 * What went wrong and what to do, for people.
 */
message: string, 
/**
 * The form field to mark, for `invalid`.
 */
field: string | null, };

export type ErrorCode = "locked" | "no_profile" | "profile_exists" | "passphrase_required" | "wrong_passphrase" | "keyring_unavailable" | "invalid" | "not_found" | "cancelled" | "busy" | "forbidden" | "plugin" | "sync" | "offline" | "signed_out" | "io" | "internal";

export type ProfileState = { 
/**
 * The profile folder.
 */
data_dir: string, 
/**
 * A profile exists there.
 */
exists: boolean, 
/**
 * It is open.
 */
unlocked: boolean, 
/**
 * Opening it needs the passphrase (no keyring key).
 */
needs_passphrase: boolean, 
/**
 * Why the last automatic open failed, if it did.
 */
problem: string | null, };

export type Meta = { 
/**
 * Contact stages.
 */
stages: Array<Stage>, 
/**
 * Contact kinds.
 */
kinds: Array<ContactKind>, 
/**
 * Policy payment frequencies.
 */
frequencies: Array<PaymentFrequency>, 
/**
 * Policy statuses.
 */
policy_statuses: Array<PolicyStatus>, 
/**
 * Payment methods.
 */
payment_methods: Array<PaymentMethod>, 
/**
 * Timeline entry kinds a person can log.
 */
activity_kinds: Array<ActivityKind>, 
/**
 * Fields an import column can map to (besides `custom.NAME` and `ignore`).
 */
import_fields: Array<string>, 
/**
 * A contact's details (job title, address, preferred contact
 * method…) as declared: the form and the contact page show them from
 * this list, so a detail declared in the core needs no change here.
 */
contact_details: Array<DetailSpec>, 
/**
 * Owners in use.
 */
owners: Array<string>, 
/**
 * Tags in use.
 */
tags: Array<string>, };

export type DetailSpec = { 
/**
 * Its name (the key in `details`, and in a validation error's field).
 */
name: string, 
/**
 * How people see it.
 */
label: string, 
/**
 * The values it may take, in order (empty: free text).
 */
choices: Array<string>, 
/**
 * It holds long text (a text area, not a line).
 */
long: boolean, };

export type ContactRow = { 
/**
 * Id.
 */
id: string, 
/**
 * Name to show.
 */
display_name: string, 
/**
 * Company.
 */
company_name: string | null, 
/**
 * Stage.
 */
stage: Stage, 
/**
 * Owner.
 */
owner: string | null, 
/**
 * Tags.
 */
tags: Array<string>, 
/**
 * Primary email.
 */
email: string | null, 
/**
 * Primary phone (E.164).
 */
phone: string | null, 
/**
 * Town.
 */
city: string | null, };

export type ContactQueryArgs = { 
/**
 * Text in the name, company, email or phone.
 */
search?: string, 
/**
 * Only this stage.
 */
stage?: string, 
/**
 * Only this owner.
 */
owner?: string, 
/**
 * Only this tag.
 */
tag?: string, 
/**
 * Skip this many.
 */
offset: number, 
/**
 * At most this many (capped at 500).
 */
limit: number, };

export type ContactPage = { 
/**
 * Contacts matching the filter.
 */
total: number, 
/**
 * Index of the first row.
 */
offset: number, 
/**
 * The rows.
 */
rows: Array<ContactRow>, };

export type ContactDto = { 
/**
 * Id.
 */
id: string, 
/**
 * person or company.
 */
kind: ContactKind, 
/**
 * Name to show.
 */
display_name: string, 
/**
 * Given name.
 */
first_name: string | null, 
/**
 * Family name.
 */
last_name: string | null, 
/**
 * Company.
 */
company_name: string | null, 
/**
 * Stage.
 */
stage: Stage, 
/**
 * Owner.
 */
owner: string | null, 
/**
 * Tags.
 */
tags: Array<string>, 
/**
 * Emails, primary first.
 */
emails: Array<string>, 
/**
 * Phones (E.164), primary first.
 */
phones: Array<string>, 
/**
 * The details that are set, by name ([`Meta::contact_details`] lists
 * them all).
 */
details: { [key in string]?: string }, 
/**
 * Date of birth.
 */
date_of_birth: string | null, 
/**
 * Custom fields.
 */
custom: { [key in string]?: string }, };

export type ContactForm = { 
/**
 * person or company.
 */
kind: string, 
/**
 * Given name.
 */
first_name: string, 
/**
 * Family name.
 */
last_name: string, 
/**
 * Company.
 */
company_name: string, 
/**
 * Stage.
 */
stage: string, 
/**
 * Owner.
 */
owner: string, 
/**
 * Tags, comma separated.
 */
tags: string, 
/**
 * Emails, one per entry.
 */
emails: Array<string>, 
/**
 * Phones as typed.
 */
phones: Array<string>, 
/**
 * The details as typed, by name (a declared detail left out is
 * empty).
 */
details: { [key in string]?: string }, 
/**
 * Date of birth.
 */
date_of_birth: string, 
/**
 * On edit, the fields the person changed (the form's names: `city`,
 * `emails`…): only those are written, so a colleague's change to
 * another field that arrived while the form was open is kept. Absent:
 * every field.
 */
changed?: Array<string>, };

export type PolicyDto = { 
/**
 * Id.
 */
id: string, 
/**
 * Holder.
 */
contact_id: string, 
/**
 * Policy number.
 */
policy_number: string, 
/**
 * Carrier.
 */
carrier: string, 
/**
 * Line of business.
 */
line_of_business: string, 
/**
 * Premium per period, minor units.
 */
premium_minor: number, 
/**
 * ISO 4217 code.
 */
currency: string, 
/**
 * Payment frequency.
 */
payment_frequency: PaymentFrequency, 
/**
 * In force from.
 */
effective_date: string, 
/**
 * Ends (renewal due).
 */
expiry_date: string | null, 
/**
 * Status.
 */
status: PolicyStatus, };

export type PolicyForm = { 
/**
 * Holder.
 */
contact_id: string, 
/**
 * Policy number.
 */
policy_number: string, 
/**
 * Carrier.
 */
carrier: string, 
/**
 * Line of business.
 */
line_of_business: string, 
/**
 * Premium per period, e.g. "42.50".
 */
premium: string, 
/**
 * Currency (empty: GBP).
 */
currency: string, 
/**
 * Frequency (empty: monthly).
 */
frequency: string, 
/**
 * Effective date.
 */
effective: string, 
/**
 * Expiry date (empty: a year after effective).
 */
expiry: string, 
/**
 * Status (empty: active).
 */
status: string, };

export type PaymentDto = { 
/**
 * Id.
 */
id: string, 
/**
 * The policy.
 */
policy_id: string, 
/**
 * Due date.
 */
due_date: string, 
/**
 * Due, minor units.
 */
amount_due_minor: number, 
/**
 * Paid, minor units.
 */
amount_paid_minor: number, 
/**
 * Still owed, minor units.
 */
outstanding_minor: number, 
/**
 * When paid.
 */
paid_date: string | null, 
/**
 * How.
 */
method: PaymentMethod | null, 
/**
 * Bank or card reference.
 */
reference: string | null, 
/**
 * Due before today and not fully paid.
 */
overdue: boolean, };

export type PaymentForm = { 
/**
 * The policy.
 */
policy_id: string, 
/**
 * Amount, e.g. "42.50".
 */
amount: string, 
/**
 * Method (see [`Meta::payment_methods`]).
 */
method: string, 
/**
 * Date paid (empty: today).
 */
date: string, 
/**
 * Reference.
 */
reference: string, };

export type ArrearsDto = { 
/**
 * The policy.
 */
policy_id: string, 
/**
 * Its number.
 */
policy_number: string, 
/**
 * Holder.
 */
contact_id: string, 
/**
 * Holder's name.
 */
contact_name: string, 
/**
 * Owed, minor units.
 */
outstanding_minor: number, 
/**
 * Instalments unpaid or part-paid.
 */
instalments: number, 
/**
 * Oldest unpaid due date.
 */
oldest_due: string, };

export type RenewalDto = { 
/**
 * The policy.
 */
policy: PolicyDto, 
/**
 * Holder's name.
 */
contact_name: string, 
/**
 * Days until expiry (negative: past).
 */
days_left: number, };

export type TaskDto = { 
/**
 * Id.
 */
id: string, 
/**
 * What to do.
 */
title: string, 
/**
 * When.
 */
due_date: string | null, 
/**
 * open, done or cancelled.
 */
status: TaskStatus, 
/**
 * About which contact.
 */
contact_id: string | null, 
/**
 * That contact's name.
 */
contact_name: string | null, 
/**
 * Who should do it.
 */
assignee: string | null, 
/**
 * More detail.
 */
notes: string | null, 
/**
 * Open and past due.
 */
overdue: boolean, };

export type TaskForm = { 
/**
 * What to do.
 */
title: string, 
/**
 * Due date (empty: none).
 */
due: string, 
/**
 * About which contact (empty: none).
 */
contact_id: string, 
/**
 * Who (empty: nobody yet).
 */
assignee: string, 
/**
 * More detail.
 */
notes: string, };

export type TaskView = "mine" | "due_today" | "overdue" | "open" | "all";

export type ActivityDto = { 
/**
 * Id.
 */
id: string, 
/**
 * note, call, email, meeting, status_change.
 */
kind: ActivityKind, 
/**
 * Text.
 */
body: string, 
/**
 * When (RFC 3339).
 */
occurred_at: string, 
/**
 * Who, in words ("you", "plugin acme.x", "import", "sync").
 */
actor: string, };

export type HistoryAction = "created" | "updated" | "deleted" | "evicted";

export type FieldChangeDto = { 
/**
 * The field's name (`custom.<key>` for a custom field).
 */
field: string, 
/**
 * How people see its name.
 */
label: string, 
/**
 * The value before, in words; `None` when it was empty.
 */
before: string | null, 
/**
 * The value after, in words; `None` when it was emptied.
 */
after: string | null, };

export type HistoryEntryDto = { 
/**
 * When (RFC 3339).
 */
at: string, 
/**
 * Who, in words: "you", "you on Laptop 2", "sam@agency.test on Front
 * desk PC", "plugin acme.x", "import", "the server" (an eviction), or
 * "another device" when the server did not say.
 */
who: string, 
/**
 * What happened.
 */
action: HistoryAction, 
/**
 * The fields it set or changed.
 */
changes: Array<FieldChangeDto>, };

export type PluginActionDto = { 
/**
 * Plugin id.
 */
plugin_id: string, 
/**
 * Plugin name.
 */
plugin_name: string, 
/**
 * Action id.
 */
action_id: string, 
/**
 * Button label.
 */
label: string, 
/**
 * contact, policy, contact_list or global.
 */
target: string, };

export type PluginPanel = { 
/**
 * Plugin id.
 */
plugin_id: string, 
/**
 * Item id.
 */
item_id: string, 
/**
 * Title.
 */
title: string, 
/**
 * stat, table, list, chart, form, text.
 */
kind: string, 
/**
 * The data (a map with `kind` and `title` set by the host), or `null`
 * when the plugin failed (see `error`).
 */
data: JsonValue, 
/**
 * Why it could not be drawn.
 */
error: string | null, };

export type ContactDetail = { 
/**
 * The contact.
 */
contact: ContactDto, 
/**
 * Its policies.
 */
policies: Array<PolicyDto>, 
/**
 * Instalments per policy id.
 */
payments: { [key in string]?: Array<PaymentDto> }, 
/**
 * Total owed today, minor units.
 */
arrears_minor: number, 
/**
 * Its tasks.
 */
tasks: Array<TaskDto>, 
/**
 * Timeline, newest first.
 */
timeline: Array<ActivityDto>, 
/**
 * Plugin buttons for a contact.
 */
actions: Array<PluginActionDto>, 
/**
 * Plugin record panels, filled.
 */
panels: Array<PluginPanel>, };

export type Dashboard = { 
/**
 * Contacts in all.
 */
contacts: number, 
/**
 * Policies renewing in the next 30 days.
 */
renewals_due: number, 
/**
 * Policies in arrears.
 */
arrears_policies: number, 
/**
 * Owed in all, minor units.
 */
arrears_minor: number, 
/**
 * Open tasks due today.
 */
tasks_due_today: number, 
/**
 * Open tasks past due.
 */
tasks_overdue: number, 
/**
 * Plugin widgets, filled.
 */
widgets: Array<PluginPanel>, 
/**
 * Plugin buttons for no record in particular.
 */
actions: Array<PluginActionDto>, };

export type ColumnDto = { 
/**
 * 0-based.
 */
index: number, 
/**
 * Header text.
 */
header: string, 
/**
 * Target field (`None`: ignored).
 */
field: string | null, 
/**
 * Set by the user rather than detected.
 */
explicit: boolean, };

export type ImportPreview = { 
/**
 * The file.
 */
path: string, 
/**
 * Its size in bytes.
 */
size: number, 
/**
 * Detected encoding.
 */
encoding: string, 
/**
 * Detected delimiter.
 */
delimiter: string, 
/**
 * Columns and their mapping.
 */
columns: Array<ColumnDto>, 
/**
 * The first rows, as in the file.
 */
sample: Array<Array<string>>, };

export type ColumnChoice = { 
/**
 * Header text.
 */
column: string, 
/**
 * Field, `custom.NAME` or `ignore`.
 */
field: string, };

export type ImportArgs = { 
/**
 * The file.
 */
path: string, 
/**
 * Mappings that override detection.
 */
mappings: Array<ColumnChoice>, 
/**
 * Check only, write nothing.
 */
dry_run: boolean, };

export type ImportProgress = { 
/**
 * `reading` the file, then `plugins` running their hooks.
 */
phase: string, 
/**
 * Rows read (or hook runs done).
 */
done: number, 
/**
 * Bytes read so far.
 */
bytes_read: number, 
/**
 * File size (or hook runs in all).
 */
total: number, };

export type RowProblemDto = { 
/**
 * 1-based row of the file (the header is row 1).
 */
row: number, 
/**
 * The column, when one is to blame.
 */
column: string | null, 
/**
 * What is wrong.
 */
reason: string, };

export type ImportReportDto = { 
/**
 * Data rows read.
 */
rows: number, 
/**
 * New contacts.
 */
created: number, 
/**
 * Existing contacts changed.
 */
updated: number, 
/**
 * Existing contacts already up to date.
 */
unchanged: number, 
/**
 * Rows skipped for a problem.
 */
skipped: number, 
/**
 * Blank rows.
 */
blank: number, 
/**
 * The problems (capped; `skipped` counts them all).
 */
problems: Array<RowProblemDto>, 
/**
 * Pairs that share a phone but not an email.
 */
possible_duplicates: number, 
/**
 * Nothing was written.
 */
dry_run: boolean, 
/**
 * Stopped by the user; rows so far are kept.
 */
cancelled: boolean, };

export type PermissionDto = { 
/**
 * e.g. `contacts:write`.
 */
permission: string, 
/**
 * e.g. "Change and delete contacts".
 */
description: string, 
/**
 * Granted by an admin.
 */
granted: boolean, };

export type PluginOrigin = "app" | "studio" | "signed" | "unsigned";

export type SettingFieldDto = { 
/**
 * Key.
 */
key: string, 
/**
 * Label.
 */
label: string, 
/**
 * string, integer, number, boolean or secret.
 */
kind: string, 
/**
 * Must be filled before enabling.
 */
required: boolean, 
/**
 * Allowed values (empty: any).
 */
choices: Array<string>, 
/**
 * The current value (secrets are never sent: `null` with `is_set`).
 */
value: JsonValue, 
/**
 * Has a value (for secrets).
 */
is_set: boolean, 
/**
 * The value shown is the default the agency's catalog sets (nothing
 * was entered on this device).
 */
from_agency: boolean, };

export type HealthDto = { 
/**
 * Runs recorded.
 */
runs: number, 
/**
 * Failed among them.
 */
errors: number, 
/**
 * Median duration, ms.
 */
p50_ms: number, 
/**
 * 95th percentile, ms.
 */
p95_ms: number, 
/**
 * Last failure.
 */
last_error: string | null, };

export type PluginDto = { 
/**
 * Where its code comes from.
 */
origin: PluginOrigin, 
/**
 * What the agency's catalog says of it (`None` before any catalog).
 */
catalog: string | null, 
/**
 * The agency's catalog stops it: it cannot be enabled here.
 */
stopped_by_catalog: boolean, 
/**
 * Id.
 */
id: string, 
/**
 * Name.
 */
name: string, 
/**
 * Version.
 */
version: string, 
/**
 * Author.
 */
author: string, 
/**
 * What it does.
 */
description: string, 
/**
 * Runs.
 */
enabled: boolean, 
/**
 * Why the system disabled it.
 */
disabled_reason: string | null, 
/**
 * Signed by (publisher key, short), `None`: unsigned (developer mode).
 */
signer: string | null, 
/**
 * What it asks for, and what is granted.
 */
permissions: Array<PermissionDto>, 
/**
 * Events it listens to, in words.
 */
hooks: Array<string>, 
/**
 * Schedules, in words.
 */
schedules: Array<string>, 
/**
 * Its buttons.
 */
actions: Array<PluginActionDto>, 
/**
 * Its settings form.
 */
settings: Array<SettingFieldDto>, 
/**
 * Health.
 */
health: HealthDto, };

export type TemplateDto = { 
/**
 * Template name (its folder).
 */
name: string, 
/**
 * Its title ("Renewal reminders").
 */
title: string, 
/**
 * What it does.
 */
description: string, 
/**
 * When it runs, in words.
 */
runs: Array<string>, 
/**
 * What it will be allowed to do, in words.
 */
may: Array<string>, 
/**
 * Already installed as.
 */
installed_as: string | null, };

export type StudioTriggerDto = { 
/**
 * The model's `kind`.
 */
kind: string, 
/**
 * What its card says.
 */
label: string, 
/**
 * The record it gives the conditions: `contact`, `policy`, `arrears`, `task`.
 */
subject: string, 
/**
 * What it asks beside (`stage`, `days`, `every`, `at`, `on`, `label`).
 */
params: Array<string>, };

export type StudioFieldDto = { 
/**
 * Its name in the model (`source`, `contact.stage`, `custom.score`).
 */
name: string, 
/**
 * Its label.
 */
label: string, 
/**
 * `text`, `number`, `money`, `date`, `list` or `choice`.
 */
kind: string, 
/**
 * Its choices, for a choice.
 */
choices: Array<string>, 
/**
 * Whether an action may set it.
 */
settable: boolean, };

export type StudioSubjectDto = { 
/**
 * `contact`, `policy`, `arrears` or `task`.
 */
subject: string, 
/**
 * Its fields (and, for the others, its contact's as `contact.…`).
 */
fields: Array<StudioFieldDto>, };

export type StudioOpDto = { 
/**
 * The model's `op`.
 */
op: string, 
/**
 * How it reads.
 */
words: string, };

export type StudioKindOpsDto = { 
/**
 * The kind.
 */
kind: string, 
/**
 * Its operators, first the default.
 */
ops: Array<StudioOpDto>, };

export type StudioChoiceDto = { 
/**
 * The value.
 */
value: string, 
/**
 * How it reads.
 */
label: string, };

export type StudioCatalogDto = { 
/**
 * Triggers.
 */
triggers: Array<StudioTriggerDto>, 
/**
 * Fields per record kind.
 */
subjects: Array<StudioSubjectDto>, 
/**
 * Operators per field kind.
 */
ops: Array<StudioKindOpsDto>, 
/**
 * Schedule choices.
 */
every: Array<StudioChoiceDto>, 
/**
 * Actions.
 */
actions: Array<StudioChoiceDto>, 
/**
 * Contact stages.
 */
stages: Array<string>, };

export type StudioProblemDto = { 
/**
 * Where (`conditions[1].value`).
 */
field: string, 
/**
 * What is wrong and what to do.
 */
message: string, };

export type StudioPreviewDto = { 
/**
 * The plugin id it becomes.
 */
id: string, 
/**
 * The automation in a sentence.
 */
summary: string, 
/**
 * The permissions it will ask for, in words.
 */
permissions: Array<PermissionDto>, 
/**
 * What must be fixed first (empty: it can be saved).
 */
problems: Array<StudioProblemDto>, };

export type DryFieldDto = { 
/**
 * The field.
 */
field: string, 
/**
 * How people call it.
 */
label: string, 
/**
 * Before, as text ("" for a new record).
 */
before: string, 
/**
 * After, as text.
 */
after: string, };

export type DryChangeDto = { 
/**
 * `contact`, `task`, `timeline entry`, …
 */
what: string, 
/**
 * `created` or `updated` (or `deleted`).
 */
action: string, 
/**
 * Its fields.
 */
fields: Array<DryFieldDto>, };

export type DryRequestDto = { 
/**
 * `POST`, `GET` or `AI`.
 */
method: string, 
/**
 * Where.
 */
url: string, 
/**
 * What.
 */
body: string | null, };

export type DryRecordDto = { 
/**
 * The record (`None`: a run not about one record).
 */
record: string | null, 
/**
 * How people know it (a contact's name).
 */
name: string | null, 
/**
 * `changed`, `skipped`, `unchanged` or `failed`.
 */
outcome: string, 
/**
 * What would change or be made.
 */
changes: Array<DryChangeDto>, 
/**
 * Requests that would be sent.
 */
requests: Array<DryRequestDto>, 
/**
 * Messages that would be shown.
 */
notifications: Array<string>, 
/**
 * Why it was skipped, or what failed.
 */
reason: string | null, };

export type DryRunDto = { 
/**
 * The plugin.
 */
plugin_id: string, 
/**
 * What was run, in words.
 */
trigger: string, 
/**
 * The kind of record gone through (`contacts`; `None`: one run).
 */
table: string | null, 
/**
 * Records run.
 */
considered: number, 
/**
 * Records that would change.
 */
would_change: number, 
/**
 * Records skipped with a reason.
 */
skipped: number, 
/**
 * Records nothing would happen to.
 */
unchanged: number, 
/**
 * Records whose run failed.
 */
failed: number, 
/**
 * Per record, changed and failed first.
 */
results: Array<DryRecordDto>, 
/**
 * Results were left out past the first thousand.
 */
truncated: boolean, 
/**
 * Cancelled before the end.
 */
cancelled: boolean, 
/**
 * How long it took, ms.
 */
elapsed_ms: number, };

export type StudioSampleDto = { 
/**
 * Whether it holds.
 */
holds: boolean, 
/**
 * The value seen, as the reason would show it.
 */
seen: string, };

export type SampleRecordDto = { 
/**
 * Its id (a policy's for arrears).
 */
id: string, 
/**
 * How people know it.
 */
name: string, };

export type StudioProgressDto = { 
/**
 * Records done.
 */
done: number, 
/**
 * Records in all.
 */
total: number, };

export type StudioEnabledDto = { 
/**
 * The plugin now.
 */
plugin: PluginDto, 
/**
 * Records it was applied to now (0: only from now on).
 */
applied: number, 
/**
 * Runs on existing records that failed.
 */
failed: number, };

export type HostFnDto = { 
/**
 * `contacts`.
 */
module: string, 
/**
 * `get`.
 */
name: string, 
/**
 * `id: &str` …
 */
params: Array<string>, 
/**
 * What it returns.
 */
returns: string | null, 
/**
 * Its documentation.
 */
doc: string, 
/**
 * The permission it needs.
 */
permission: string | null, };

export type RecordFieldsDto = { 
/**
 * `contact`, `policy` …
 */
kind: string, 
/**
 * Its fields.
 */
fields: Array<string>, };

export type EditorReferenceDto = { 
/**
 * Every host function.
 */
functions: Array<HostFnDto>, 
/**
 * Every record shape.
 */
records: Array<RecordFieldsDto>, };

export type EditorFixDto = { 
/**
 * What it does.
 */
title: string, 
/**
 * `script` or `manifest`.
 */
file: string, 
/**
 * That file's new text.
 */
text: string, };

export type EditorDiagnosticDto = { 
/**
 * `script` or `manifest`.
 */
file: string, 
/**
 * `error` or `warning`.
 */
severity: string, 
/**
 * 1-based line (script).
 */
line: number | null, 
/**
 * 1-based column (script).
 */
column: number | null, 
/**
 * Characters covered.
 */
length: number, 
/**
 * The manifest path.
 */
path: string | null, 
/**
 * What is wrong.
 */
message: string, 
/**
 * The fix, when obvious.
 */
fix: EditorFixDto | null, };

export type PluginSourceDto = { 
/**
 * `manifest.json`.
 */
manifest: string, 
/**
 * The entry script.
 */
script: string, 
/**
 * Its tests (`tests/NAME.rhai`), to run from the test console.
 */
tests: Array<PluginFileDto>, };

export type PluginFileDto = { 
/**
 * Its path in the plugin (`tests/basics.rhai`).
 */
name: string, 
/**
 * Its text.
 */
text: string, };

export type ConsoleRunArgs = { 
/**
 * `manifest.json` as edited.
 */
manifest: string, 
/**
 * The entry script as edited.
 */
script: string, 
/**
 * An action's id, or
 */
action: string | null, 
/**
 * a hook's event (`contact.created`), run as if it had just happened.
 */
event: string | null, 
/**
 * The record it runs on (a record action; a hook's record).
 */
record: string | null, 
/**
 * Run on the profile itself, with real requests, instead of a copy.
 */
for_real: boolean, };

export type ConsoleResultDto = { 
/**
 * Whether it ran to the end.
 */
ok: boolean, 
/**
 * Whether it ran for real (else on a copy, nothing kept or sent).
 */
for_real: boolean, 
/**
 * Its value, as JSON text.
 */
value: string, 
/**
 * Printed lines.
 */
output: Array<string>, 
/**
 * Logged lines, `level: text`.
 */
logs: Array<string>, 
/**
 * Operations used.
 */
operations: bigint, 
/**
 * Milliseconds.
 */
elapsed_ms: number, 
/**
 * Requests it would have sent (a dry run).
 */
requests: Array<string>, 
/**
 * Records it wrote.
 */
writes: number, 
/**
 * The error, in words.
 */
error: string | null, 
/**
 * The script line the error points at.
 */
error_line: number | null, };

export type PluginTestDto = { 
/**
 * `tests/FILE.rhai::test_name`.
 */
name: string, 
/**
 * Whether it passed.
 */
passed: boolean, 
/**
 * Why it failed.
 */
failure: string | null, 
/**
 * The line of the test file or script the failure points at.
 */
line: number | null, };

export type PluginRunDto = { 
/**
 * When it started (RFC 3339).
 */
at: string, 
/**
 * What started it, in words ("When a contact is created").
 */
started_by: string, 
/**
 * The record it ran on, if one.
 */
record: string | null, 
/**
 * How people know that record (a contact's name, a policy number).
 */
record_name: string | null, 
/**
 * Whether it ran to the end.
 */
ok: boolean, 
/**
 * How long it took.
 */
duration_ms: number, 
/**
 * What it changed or made (the first few).
 */
changes: Array<DryChangeDto>, 
/**
 * Changes past those shown.
 */
more_changes: number, 
/**
 * What went wrong, in words.
 */
error: string | null, 
/**
 * The script line the error points at.
 */
error_line: number | null, };

export type PackageExportDto = { 
/**
 * Where it was written.
 */
path: string, 
/**
 * The publisher key it is signed with (public half, hex): what another
 * tenant trusts to install it.
 */
publisher_key: string, 
/**
 * `keyring` or `profile`: where the secret half is kept.
 */
kept_in: string, 
/**
 * Files in the package, the signature left out.
 */
files: number, };

export type CatalogPluginDto = { 
/**
 * Plugin id.
 */
id: string, 
/**
 * Its name.
 */
name: string, 
/**
 * `allowed`, `force_installed`, `blocked` or `removed`.
 */
mode: string, 
/**
 * The version devices run.
 */
version: string | null, 
/**
 * A pinned version.
 */
pinned_version: string | null, 
/**
 * A minimum version.
 */
min_version: string | null, 
/**
 * Every published version, oldest first.
 */
versions: Array<string>, 
/**
 * The permissions devices may grant it.
 */
grants: Array<string>, 
/**
 * Who it is for, in words.
 */
audience: string, 
/**
 * Whether it applies to this device's user.
 */
applies: boolean, 
/**
 * Why, when an admin said.
 */
reason: string | null, 
/**
 * The version installed on this device, if any.
 */
installed: string | null, 
/**
 * The setting defaults it sets for every device.
 */
settings: { [key in string]?: JsonValue }, 
/**
 * The role templates it suggests, each as a diff against the grants
 * that role has now.
 */
role_templates: Array<RoleTemplateDiffDto>, 
/**
 * What devices report of it, by version (an admin's view; empty for
 * others).
 */
devices: Array<PluginVersionHealthDto>, 
/**
 * The permissions the version devices run asks for: what may be
 * approved.
 */
asks: Array<string>, 
/**
 * Its non-secret settings: what may be given a default.
 */
setting_fields: Array<CatalogSettingFieldDto>, 
/**
 * Who it is for, as set.
 */
who: AudienceArgs, };

export type CatalogPublisherDto = { 
/**
 * Ed25519 public key, hex.
 */
public_key: string, 
/**
 * Who.
 */
name: string, };

export type KeptPluginDataDto = { 
/**
 * The plugin.
 */
plugin_id: string, 
/**
 * When it was kept.
 */
at: string, 
/**
 * Its size in bytes (JSON).
 */
bytes: number, };

export type CatalogOfferDto = { 
/**
 * Plugin id.
 */
id: string, 
/**
 * The version it would install.
 */
version: string | null, 
/**
 * The permissions it may be granted.
 */
grants: Array<string>, };

export type CatalogSettingFieldDto = { 
/**
 * Key.
 */
key: string, 
/**
 * Label.
 */
label: string, 
/**
 * `string`, `integer`, `number` or `boolean`.
 */
kind: string, 
/**
 * Allowed values (empty: any).
 */
choices: Array<string>, };

export type AudienceArgs = { 
/**
 * Everyone in the agency.
 */
everyone: boolean, 
/**
 * Roles (`agent`, `admin`).
 */
roles: Array<string>, 
/**
 * Teams.
 */
teams: Array<string>, };

export type AdminUserDto = { 
/**
 * Account id.
 */
id: string, 
/**
 * Email (the sign-in name).
 */
email: string, 
/**
 * `agent` or `admin`.
 */
role: string, 
/**
 * Team, if any.
 */
team: string | null, 
/**
 * Disabled: cannot sign in, its devices are refused.
 */
disabled: boolean, 
/**
 * When it was made.
 */
created_at: string, 
/**
 * The latest any of its devices was seen.
 */
last_seen: string | null, 
/**
 * Devices signed in with it.
 */
devices: number, 
/**
 * Invited and not yet signed in with its one-time password, or not yet
 * set a password of its own.
 */
invite_pending: boolean, };

export type OneTimePasswordDto = { 
/**
 * For whom.
 */
email: string, 
/**
 * The password: works for one sign-in, then its owner chooses their own.
 */
password: string, 
/**
 * When it stops working.
 */
expires_at: string, };

export type AdminUserChangeArgs = { 
/**
 * New role.
 */
role?: string, 
/**
 * New team; empty text takes the account out of any team.
 */
team?: string, 
/**
 * Disable or enable it.
 */
disabled?: boolean, };

export type AdminDeviceDto = { 
/**
 * Device id.
 */
id: string, 
/**
 * Its name.
 */
name: string, 
/**
 * Whose.
 */
user_email: string, 
/**
 * First signed in.
 */
created_at: string, 
/**
 * Last seen by the server.
 */
last_seen: string | null, 
/**
 * The app version it runs, as it last said.
 */
app_version: string | null, 
/**
 * Revoked: its token is refused.
 */
revoked: boolean, };

export type AdminAuditDto = { 
/**
 * When.
 */
at: string, 
/**
 * Who (email).
 */
actor: string, 
/**
 * What, in words.
 */
what: string, };

export type PluginVersionHealthDto = { 
/**
 * Plugin id.
 */
plugin_id: string, 
/**
 * Version.
 */
version: string, 
/**
 * Devices that have it installed.
 */
devices: number, 
/**
 * Of those, with it switched on.
 */
enabled: number, 
/**
 * Of those, whose newest run failed.
 */
failing: number, 
/**
 * Of those, where it is stopped (off, or stopped by the catalog).
 */
stopped: number, 
/**
 * Runs those devices recorded of it lately.
 */
runs: number, 
/**
 * Of those, failed.
 */
errors: number, 
/**
 * The latest errors, each with its device.
 */
last_errors: Array<string>, };

export type RoleTemplateDiffDto = { 
/**
 * The role's name, as the plugin's author wrote it.
 */
name: string, 
/**
 * Every permission it suggests.
 */
permissions: Array<string>, 
/**
 * Suggested and not granted now: applying it approves these.
 */
adds: Array<string>, 
/**
 * Granted now and not suggested (applying it keeps them).
 */
beyond: Array<string>, 
/**
 * Whether the plugin is for that role now (its audience).
 */
for_role: boolean, };

export type CatalogViewDto = { 
/**
 * Its revision.
 */
revision: bigint, 
/**
 * Its plugins.
 */
plugins: Array<CatalogPluginDto>, 
/**
 * The trusted publishers.
 */
publishers: Array<CatalogPublisherDto>, 
/**
 * Who may run plugins from outside the catalog: `everyone`, `admins`
 * or `no_one`.
 */
local_plugins: string, };

export type CatalogSetArgs = { 
/**
 * New mode.
 */
mode?: string, 
/**
 * Pin this version.
 */
version?: string, 
/**
 * Run this version or newer.
 */
min_version?: string, 
/**
 * Approved grants (replacing them).
 */
grants?: Array<string>, 
/**
 * Why.
 */
reason?: string, 
/**
 * Setting defaults for every device (replacing them; never secrets).
 */
settings?: { [key in string]?: JsonValue }, 
/**
 * Who it is for (replacing it).
 */
audience?: AudienceArgs, };

export type CatalogAuditDto = { 
/**
 * When.
 */
at: string, 
/**
 * Who (email).
 */
actor: string, 
/**
 * Which plugin.
 */
plugin_id: string | null, 
/**
 * What, in words.
 */
what: string, };

export type ActionResult = { 
/**
 * The script's value.
 */
value: JsonValue, 
/**
 * Messages for the user.
 */
notifications: Array<NoticeDto>, 
/**
 * Records written.
 */
writes: number, 
/**
 * Milliseconds.
 */
elapsed_ms: number, };

export type NoticeDto = { 
/**
 * info, success, warning or error.
 */
level: string, 
/**
 * Text (plain, never HTML).
 */
message: string, 
/**
 * Who says it (a plugin id), if not the app.
 */
source: string | null, };

export type SyncStatusDto = { 
/**
 * Server, when signed in.
 */
server: string | null, 
/**
 * Signed in as an admin of the agency (the admin console shows).
 */
admin: boolean, 
/**
 * Account.
 */
email: string | null, 
/**
 * Last success.
 */
last_success: string | null, 
/**
 * Changes waiting to go up.
 */
pending: number, 
/**
 * Changes the server refused, kept aside.
 */
quarantined: number, 
/**
 * Received records this device could not store yet, kept and tried
 * again at every sync.
 */
held: number, 
/**
 * Last error.
 */
last_error: string | null, 
/**
 * Signed in with a one-time password: nothing syncs until its owner
 * chooses their own (`sync_change_password`).
 */
must_change_password: boolean, };

export type SyncReportDto = { 
/**
 * Changes sent.
 */
pushed: number, 
/**
 * Changes received.
 */
pulled: number, 
/**
 * Records removed (left your view).
 */
evicted: number, 
/**
 * Changes the server refused.
 */
quarantined: number, };

export type SyncState = "off" | "synced" | "syncing" | "waiting" | "offline" | "error";

export type SyncStateDto = { 
/**
 * Where it stands (`message` says more for `offline` and `error`).
 */
state: SyncState, 
/**
 * Changes waiting to go up.
 */
pending: number, 
/**
 * Changes the server refused, kept aside (see the Sync screen).
 */
set_aside: number, 
/**
 * What went wrong and what to do, for `offline` and `error`.
 */
message: string | null, 
/**
 * When the last sync finished (RFC 3339).
 */
last_success: string | null, 
/**
 * Seconds until the next try after a failure.
 */
retry_in_s: number | null, };

export type SetAsideDto = { 
/**
 * What retry and discard name.
 */
op_id: string, 
/**
 * The kind of record, in words ("contact", "policy").
 */
what: string, 
/**
 * The record's id (a contact's opens its page).
 */
row_id: string, 
/**
 * The record's name where it has one here ("Ann Smith").
 */
name: string | null, 
/**
 * The contact page to open for it, when there is one.
 */
contact_id: string | null, 
/**
 * The values it carried, as `field: value` lines.
 */
fields: Array<string>, 
/**
 * The server's reason.
 */
reason: string, 
/**
 * When it was set aside (RFC 3339).
 */
at: string, };

export type LoginArgs = { 
/**
 * Server URL.
 */
server: string, 
/**
 * Email.
 */
email: string, 
/**
 * Password (never stored).
 */
password: string, 
/**
 * The password to choose when `password` is a one-time one from an
 * invitation (set at once, so the account syncs).
 */
new_password?: string, };

export type SettingsDto = { 
/**
 * Profile folder.
 */
data_dir: string, 
/**
 * Tenant id.
 */
tenant_id: string, 
/**
 * This device.
 */
device_id: string, 
/**
 * Where the database key is: `keyring` or `passphrase`.
 */
key_storage: string, 
/**
 * Default phone region (ISO 3166 alpha-2).
 */
region: string, 
/**
 * AI endpoint.
 */
ai_endpoint: string | null, 
/**
 * AI model.
 */
ai_model: string | null, 
/**
 * An AI key is stored.
 */
ai_key_set: boolean, 
/**
 * Unsigned plugins may be installed.
 */
developer_mode: boolean, 
/**
 * This build's version (the workspace's, one place: `Cargo.toml`).
 */
app_version: string, };

export type AiSettingsArgs = { 
/**
 * Endpoint URL (empty: none).
 */
endpoint: string, 
/**
 * Model (empty: the default).
 */
model: string, 
/**
 * New key.
 */
api_key?: string, };
