-- Care compliance, first schema. Every synced row carries `dirty`
-- (1: changed on this device since it was last sent).

-- The CQC's 34 quality statements under its five key questions, seeded.
CREATE TABLE compliance_statements (id TEXT PRIMARY KEY NOT NULL, key_question TEXT NOT NULL,
  name TEXT NOT NULL, ord INTEGER NOT NULL) STRICT;
INSERT INTO compliance_statements (id, key_question, name, ord) VALUES
  ('S1', 'safe', 'Learning culture', 1),
  ('S2', 'safe', 'Safe systems, pathways and transitions', 2),
  ('S3', 'safe', 'Safeguarding', 3),
  ('S4', 'safe', 'Involving people to manage risks', 4),
  ('S5', 'safe', 'Safe environments', 5),
  ('S6', 'safe', 'Safe and effective staffing', 6),
  ('S7', 'safe', 'Infection prevention and control', 7),
  ('S8', 'safe', 'Medicines optimisation', 8),
  ('E1', 'effective', 'Assessing needs', 9),
  ('E2', 'effective', 'Delivering evidence-based care and treatment', 10),
  ('E3', 'effective', 'How staff, teams and services work together', 11),
  ('E4', 'effective', 'Supporting people to live healthier lives', 12),
  ('E5', 'effective', 'Monitoring and improving outcomes', 13),
  ('E6', 'effective', 'Consent to care and treatment', 14),
  ('C1', 'caring', 'Kindness, compassion and dignity', 15),
  ('C2', 'caring', 'Treating people as individuals', 16),
  ('C3', 'caring', 'Independence, choice and control', 17),
  ('C4', 'caring', 'Responding to people''s immediate needs', 18),
  ('C5', 'caring', 'Workforce wellbeing and enablement', 19),
  ('R1', 'responsive', 'Person-centred care', 20),
  ('R2', 'responsive', 'Care provision, integration and continuity', 21),
  ('R3', 'responsive', 'Providing information', 22),
  ('R4', 'responsive', 'Listening to and involving people', 23),
  ('R5', 'responsive', 'Equity in access', 24),
  ('R6', 'responsive', 'Equity in experiences and outcomes', 25),
  ('R7', 'responsive', 'Planning for the future', 26),
  ('W1', 'well-led', 'Shared direction and culture', 27),
  ('W2', 'well-led', 'Capable, compassionate and inclusive leaders', 28),
  ('W3', 'well-led', 'Freedom to speak up', 29),
  ('W4', 'well-led', 'Workforce equality, diversity and inclusion', 30),
  ('W5', 'well-led', 'Governance, management and sustainability', 31),
  ('W6', 'well-led', 'Partnerships and communities', 32),
  ('W7', 'well-led', 'Learning, improvement and innovation', 33),
  ('W8', 'well-led', 'Environmental sustainability', 34);

-- A document of the library that is a policy or SOP: what document control
-- adds to it. Approval binds to one version; a new version needs it again.
CREATE TABLE compliance_policies (doc_id TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL,
  owner TEXT NOT NULL, review_months INTEGER NOT NULL, next_review TEXT NOT NULL,
  last_review TEXT, drafted_by TEXT NOT NULL, approval TEXT NOT NULL,
  submitted_version INTEGER, submitted_by TEXT, approved_version INTEGER, approved_by TEXT,
  approved_at TEXT, minor INTEGER NOT NULL DEFAULT 0, ack_from_version INTEGER,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, dirty INTEGER NOT NULL DEFAULT 1) STRICT;
CREATE TABLE compliance_policy_statements (doc_id TEXT NOT NULL, statement_id TEXT NOT NULL,
  PRIMARY KEY (doc_id, statement_id)) STRICT;

-- Read-and-sign: who must read a policy (`role:R`, `team:T`, `staff:ID`)
-- by when, and what each person acknowledged.
CREATE TABLE compliance_assignments (id TEXT PRIMARY KEY NOT NULL, doc_id TEXT NOT NULL,
  target TEXT NOT NULL, due TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
  dirty INTEGER NOT NULL DEFAULT 1, UNIQUE (doc_id, target)) STRICT;
CREATE TABLE compliance_acks (doc_id TEXT NOT NULL, version INTEGER NOT NULL,
  staff_id TEXT NOT NULL, user_id TEXT NOT NULL, at TEXT NOT NULL, statement TEXT NOT NULL,
  dirty INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (doc_id, version, staff_id)) STRICT;

-- Staff records (employee management).
CREATE TABLE compliance_staff (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,
  role TEXT NOT NULL, team TEXT, manager_id TEXT, start_date TEXT NOT NULL, contract TEXT,
  user_id TEXT, supervision_weeks INTEGER, appraisal_months INTEGER, left_date TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, dirty INTEGER NOT NULL DEFAULT 1) STRICT;
CREATE INDEX compliance_staff_name ON compliance_staff(name COLLATE NOCASE, id);
CREATE INDEX compliance_staff_user ON compliance_staff(user_id);
-- The Schedule 3 checklist (and right to work, references, probation):
-- one row per staff member and item, its fields as JSON.
CREATE TABLE compliance_checks (staff_id TEXT NOT NULL, item TEXT NOT NULL,
  status TEXT NOT NULL, details TEXT NOT NULL, note TEXT, updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL, dirty INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (staff_id, item)) STRICT;
-- Evidence files, kept in the encrypted store in 1 MiB chunks.
CREATE TABLE compliance_evidence (id TEXT PRIMARY KEY NOT NULL, staff_id TEXT NOT NULL,
  item TEXT NOT NULL, file_name TEXT NOT NULL, kind TEXT NOT NULL, size INTEGER NOT NULL,
  sha256 TEXT NOT NULL, added_at TEXT NOT NULL, added_by TEXT NOT NULL,
  dirty INTEGER NOT NULL DEFAULT 1) STRICT;
CREATE INDEX compliance_evidence_staff ON compliance_evidence(staff_id, item);
CREATE TABLE compliance_evidence_chunks (evidence_id TEXT NOT NULL, n INTEGER NOT NULL,
  bytes BLOB NOT NULL, PRIMARY KEY (evidence_id, n)) STRICT;

-- Supervisions and appraisals held.
CREATE TABLE compliance_supervisions (id TEXT PRIMARY KEY NOT NULL, staff_id TEXT NOT NULL,
  kind TEXT NOT NULL, date TEXT NOT NULL, supervisor TEXT NOT NULL, notes TEXT,
  created_at TEXT NOT NULL, dirty INTEGER NOT NULL DEFAULT 1) STRICT;
CREATE INDEX compliance_supervisions_staff ON compliance_supervisions(staff_id, kind, date);

-- Training: courses (renewal in months; NULL: never expires) and records.
CREATE TABLE compliance_courses (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,
  category TEXT NOT NULL, renewal_months INTEGER, active INTEGER NOT NULL DEFAULT 1,
  ord INTEGER NOT NULL, updated_at TEXT NOT NULL DEFAULT '', dirty INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE UNIQUE INDEX compliance_courses_name ON compliance_courses(name COLLATE NOCASE);
INSERT INTO compliance_courses (id, name, category, renewal_months, ord) VALUES
  ('safeguarding-adults', 'Safeguarding adults', 'mandatory', 12, 1),
  ('moving-handling', 'Moving and handling', 'mandatory', 12, 2),
  ('infection-prevention', 'Infection prevention and control', 'mandatory', 12, 3),
  ('fire-safety', 'Fire safety', 'mandatory', 12, 4),
  ('basic-life-support', 'Basic life support', 'mandatory', 12, 5),
  ('food-hygiene', 'Food hygiene', 'mandatory', 36, 6),
  ('medication', 'Safe handling of medicines', 'mandatory', 12, 7),
  ('mental-capacity', 'Mental Capacity Act and DoLS', 'mandatory', 24, 8),
  ('information-governance', 'Information governance and GDPR', 'mandatory', 12, 9),
  ('equality-diversity', 'Equality, diversity and human rights', 'mandatory', 36, 10),
  ('health-safety', 'Health and safety', 'mandatory', 12, 11),
  ('person-centred-care', 'Person-centred care', 'mandatory', 36, 12),
  ('oliver-mcgowan', 'Oliver McGowan training on learning disability and autism', 'mandatory', 36, 13),
  ('care-certificate-1', 'Care Certificate 1: Understand your role', 'care_certificate', NULL, 14),
  ('care-certificate-2', 'Care Certificate 2: Your personal development', 'care_certificate', NULL, 15),
  ('care-certificate-3', 'Care Certificate 3: Duty of care', 'care_certificate', NULL, 16),
  ('care-certificate-4', 'Care Certificate 4: Equality, diversity, inclusion and human rights', 'care_certificate', NULL, 17),
  ('care-certificate-5', 'Care Certificate 5: Work in a person-centred way', 'care_certificate', NULL, 18),
  ('care-certificate-6', 'Care Certificate 6: Communication', 'care_certificate', NULL, 19),
  ('care-certificate-7', 'Care Certificate 7: Privacy and dignity', 'care_certificate', NULL, 20),
  ('care-certificate-8', 'Care Certificate 8: Fluids and nutrition', 'care_certificate', NULL, 21),
  ('care-certificate-9', 'Care Certificate 9: Awareness of mental health and dementia', 'care_certificate', NULL, 22),
  ('care-certificate-10', 'Care Certificate 10: Safeguarding adults', 'care_certificate', NULL, 23),
  ('care-certificate-11', 'Care Certificate 11: Safeguarding children', 'care_certificate', NULL, 24),
  ('care-certificate-12', 'Care Certificate 12: Basic life support', 'care_certificate', NULL, 25),
  ('care-certificate-13', 'Care Certificate 13: Health and safety', 'care_certificate', NULL, 26),
  ('care-certificate-14', 'Care Certificate 14: Handling information', 'care_certificate', NULL, 27),
  ('care-certificate-15', 'Care Certificate 15: Infection prevention and control', 'care_certificate', NULL, 28),
  ('care-certificate-16', 'Care Certificate 16: Awareness of learning disability and autism', 'care_certificate', NULL, 29);
CREATE TABLE compliance_training (id TEXT PRIMARY KEY NOT NULL, staff_id TEXT NOT NULL,
  course_id TEXT NOT NULL, achieved TEXT NOT NULL, expires TEXT, provider TEXT,
  evidence_id TEXT, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
  dirty INTEGER NOT NULL DEFAULT 1) STRICT;
CREATE INDEX compliance_training_cell ON compliance_training(staff_id, course_id, achieved);

-- Reminders already made into tasks (each once).
CREATE TABLE compliance_reminders (key TEXT PRIMARY KEY NOT NULL, task_id TEXT NOT NULL,
  created_at TEXT NOT NULL) STRICT;
