// What the Compliance screens compute: standings as words, marks and
// classes (never colour alone); the training matrix filtered where it is,
// with its per-course totals counted again for what is shown; the quality
// statements grouped by key question; a checklist item's form drawn from
// its field definitions (and the values sent back); policies' approval
// steps and read-and-sign targets in words.

import type {
  AckStateDto,
  CheckArgs,
  CheckDto,
  CheckFieldDto,
  CheckItemDto,
  ComplianceAccessDto,
  CompliancePolicyDto,
  CourseDto,
  KeyQuestionDto,
  MatrixCellDto,
  MatrixDto,
  MatrixRowDto,
  StaffDto,
  StaffForm,
  StandingDto,
  StatementDto,
} from '../bindings';
import { formatDate } from './dates';

// ---- standings -------------------------------------------------------------

export const STANDINGS: readonly StandingDto[] = ['valid', 'due_soon', 'expired', 'missing'];

export const STANDING_LABEL: Record<StandingDto, string> = {
  valid: 'Valid',
  due_soon: 'Due soon',
  expired: 'Expired',
  missing: 'Missing',
};

/** The mark a matrix cell shows: a shape as well as a colour. */
export const STANDING_MARK: Record<StandingDto, string> = {
  valid: '✓',
  due_soon: '!',
  expired: '✗',
  missing: '–',
};

export const STANDING_TONE: Record<StandingDto, 'ok' | 'warn' | 'danger' | 'plain'> = {
  valid: 'ok',
  due_soon: 'warn',
  expired: 'danger',
  missing: 'plain',
};

/** A matrix cell's class (its colour; the mark carries the meaning too). */
export function cellClass(s: StandingDto): string {
  return `mx mx-${s}`;
}

/** What a cell says when pointed at: who, which course, where it stands. */
export function cellTitle(person: string, course: string, c: MatrixCellDto): string {
  const head = `${person} — ${course}: ${STANDING_LABEL[c.standing].toLowerCase()}`;
  if (c.standing === 'missing') return `${head} (never done)`;
  const achieved = c.achieved ? `achieved ${formatDate(c.achieved)}` : '';
  const until = c.expires ? (c.standing === 'expired' ? `expired after ${formatDate(c.expires)}` : `valid until ${formatDate(c.expires)}`) : 'never lapses';
  return `${head} (${[achieved, until].filter((x) => x !== '').join(', ')})`;
}

/** "66.7%" (one decimal, none when whole). */
export function percentLabel(n: number): string {
  const r = Math.round(n * 10) / 10;
  return `${Number.isInteger(r) ? r.toFixed(0) : r.toFixed(1)}%`;
}

/** `part` of `whole` in percent, one decimal; 100 of nothing (as the crate counts). */
export function percent(part: number, whole: number): number {
  return whole === 0 ? 100 : Math.round((part * 1000) / whole) / 10;
}

// ---- the training matrix -----------------------------------------------------

export interface MatrixFilter {
  team: string;
  role: string;
  category: string;
  course: string;
  standing: '' | StandingDto;
  text: string;
}

export const NO_FILTER: MatrixFilter = { team: '', role: '', category: '', course: '', standing: '', text: '' };

export interface Totals {
  valid: number;
  due_soon: number;
  expired: number;
  missing: number;
  percent: number;
}

export interface MatrixView {
  /** The columns shown, with their index in the matrix's cells. */
  columns: { course: CourseDto; index: number }[];
  rows: MatrixRowDto[];
  /** Per column shown, over the rows shown. */
  totals: Totals[];
}

const same = (a: string | null | undefined, b: string) => (a ?? '').toLowerCase() === b.toLowerCase();

/**
 * The part of the matrix a filter keeps: courses by category and course,
 * people by team, role and name; then (when asked) only the people with a
 * course shown in that standing. The totals count what is shown.
 */
export function filterMatrix(m: MatrixDto, f: MatrixFilter): MatrixView {
  const columns = m.courses
    .map((course, index) => ({ course, index }))
    .filter(({ course }) => (f.category === '' || same(course.category, f.category)) && (f.course === '' || course.id === f.course));
  const text = f.text.trim().toLowerCase();
  const rows = m.rows.filter((r) => {
    if (f.team !== '' && !same(r.team, f.team)) return false;
    if (f.role !== '' && !same(r.role, f.role)) return false;
    if (text !== '' && !r.name.toLowerCase().includes(text)) return false;
    if (f.standing !== '' && !columns.some((c) => r.cells[c.index]?.standing === f.standing)) return false;
    return true;
  });
  const totals = columns.map(({ index }) => {
    const t: Totals = { valid: 0, due_soon: 0, expired: 0, missing: 0, percent: 100 };
    for (const r of rows) {
      const s = r.cells[index]?.standing ?? 'missing';
      t[s]++;
    }
    t.percent = percent(t.valid + t.due_soon, rows.length);
    return t;
  });
  return { columns, rows, totals };
}

/** The teams and roles in a list of people, sorted, each once. */
export function teamsAndRoles(people: readonly { team: string | null; role: string }[]): { teams: string[]; roles: string[] } {
  const teams = new Set<string>();
  const roles = new Set<string>();
  for (const p of people) {
    if (p.team) teams.add(p.team);
    roles.add(p.role);
  }
  const sort = (s: Set<string>) => [...s].sort((a, b) => a.localeCompare(b));
  return { teams: sort(teams), roles: sort(roles) };
}

// ---- quality statements -------------------------------------------------------

export interface StatementGroup {
  id: string;
  name: string;
  statements: StatementDto[];
}

/** Statements under their key question, in the CQC's order; any other last. */
export function groupStatements(questions: readonly KeyQuestionDto[], statements: readonly StatementDto[]): StatementGroup[] {
  const groups: StatementGroup[] = questions.map((q) => ({ id: q.id, name: q.name, statements: [] }));
  const other: StatementGroup = { id: 'other', name: 'Other', statements: [] };
  for (const s of statements) {
    (groups.find((g) => g.id === s.key_question) ?? other).statements.push(s);
  }
  return [...groups.filter((g) => g.statements.length > 0), ...(other.statements.length > 0 ? [other] : [])];
}

/** `ids` with `id` added or taken away, in the statements' order. */
export function toggleStatement(ids: readonly string[], id: string, order: readonly StatementDto[]): string[] {
  const next = ids.includes(id) ? ids.filter((x) => x !== id) : [...ids, id];
  const rank = (x: string) => {
    const i = order.findIndex((s) => s.id === x);
    return i < 0 ? order.length : i;
  };
  return next.sort((a, b) => rank(a) - rank(b));
}

// ---- a checklist item's form, from its field definitions -----------------------

export type FieldControl =
  | { control: 'text' }
  | { control: 'secret' }
  | { control: 'date' }
  | { control: 'months' }
  | { control: 'select'; options: { value: string; label: string }[] };

/** Which input a field takes: drawn from its kind, nothing per item. */
export function fieldControl(f: CheckFieldDto): FieldControl {
  if (f.secret) return { control: 'secret' };
  switch (f.kind) {
    case 'date':
      return { control: 'date' };
    case 'months':
      return { control: 'months' };
    case 'yes_no':
      return {
        control: 'select',
        options: [
          { value: 'yes', label: 'Yes' },
          { value: 'no', label: 'No' },
        ],
      };
    case 'choice':
      return { control: 'select', options: f.choices.map((c) => ({ value: c, label: capital(c) })) };
    default:
      return { control: 'text' };
  }
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** A field's recorded value as a person reads it ("" when none). */
export function fieldShown(f: CheckFieldDto, c: CheckDto | null): string {
  if (!c) return '';
  if (f.secret) return c.masked[f.key] ?? '';
  const v = c.details[f.key];
  if (v === undefined || v === '') return '';
  switch (f.kind) {
    case 'date':
      return formatDate(v);
    case 'yes_no':
      return v === 'yes' ? 'Yes' : v === 'no' ? 'No' : v;
    case 'months':
      return `${v} ${v === '1' ? 'month' : 'months'}`;
    case 'choice':
      return capital(v);
    default:
      return v;
  }
}

export interface CheckDraft {
  status: string;
  values: Record<string, string>;
  clear: string[];
  note: string;
}

/** The form for an item, filled from what is recorded (secrets stay empty: the window never has them). */
export function checkDraft(item: CheckItemDto, c: CheckDto | null): CheckDraft {
  const values: Record<string, string> = {};
  for (const f of item.fields) values[f.key] = f.secret ? '' : (c?.details[f.key] ?? '');
  return { status: c && c.status !== 'missing' ? c.status : 'verified', values, clear: [], note: c?.note ?? '' };
}

/** What is sent: the item's own fields only; an empty secret is left out, so the one recorded stays. */
export function checkArgs(item: CheckItemDto, d: CheckDraft): CheckArgs {
  const details: Record<string, string> = {};
  for (const f of item.fields) {
    const v = (d.values[f.key] ?? '').trim();
    if (f.secret && v === '') continue;
    details[f.key] = v;
  }
  return { status: d.status, details, clear: d.clear.filter((k) => item.fields.some((f) => f.key === k && f.secret)), note: d.note };
}

// ---- policies and read-and-sign ---------------------------------------------------

export const APPROVAL_LABEL: Record<string, string> = {
  draft: 'Draft',
  awaiting_approval: 'Awaiting approval',
  approved: 'Approved, not published',
  published: 'Published',
};

export const APPROVAL_TONE: Record<string, 'ok' | 'warn' | 'accent' | 'plain'> = {
  draft: 'plain',
  awaiting_approval: 'warn',
  approved: 'accent',
  published: 'ok',
};

export const REVIEW_LABEL: Record<StandingDto, string> = {
  valid: 'Review in date',
  due_soon: 'Review due soon',
  expired: 'Review overdue',
  missing: 'No review date',
};

export const ACK_LABEL: Record<AckStateDto, string> = { done: 'Done', pending: 'Pending', overdue: 'Overdue' };
export const ACK_TONE: Record<AckStateDto, 'ok' | 'warn' | 'danger'> = { done: 'ok', pending: 'warn', overdue: 'danger' };

export interface PolicyActions {
  submit: boolean;
  approve: boolean;
  reject: boolean;
  publish: boolean;
  reviewed: boolean;
  assign: boolean;
  /** This person submitted the version awaiting approval: another admin approves it. */
  ownSubmission: boolean;
}

/** What an admin may do next with a policy (non-admins: nothing). */
export function policyActions(p: CompliancePolicyDto, access: ComplianceAccessDto): PolicyActions {
  const admin = access.admin;
  const awaiting = p.approval === 'awaiting_approval';
  return {
    submit: admin && p.approval === 'draft' && p.readable_version !== null,
    approve: admin && awaiting,
    reject: admin && awaiting,
    publish: admin && p.approval === 'approved',
    reviewed: admin && p.status === 'published',
    assign: admin && p.status === 'published',
    ownSubmission: awaiting && p.submitted_by === access.user_id,
  };
}

/** `role:carer` → "Role: carer"; `staff:ID` → the person's name when known. */
export function targetLabel(target: string, names: ReadonlyMap<string, string> = new Map()): string {
  const i = target.indexOf(':');
  if (i < 0) return target;
  const kind = target.slice(0, i);
  const value = target.slice(i + 1);
  if (kind === 'role') return `Role: ${value}`;
  if (kind === 'team') return `Team: ${value}`;
  if (kind === 'staff') return names.get(value) ?? `Staff: ${value}`;
  return target;
}

/**
 * Who an account is, in words: "you", the name on the staff record linked
 * to it, else "an account ending …" (accounts' emails are the server's;
 * this device may not know them).
 */
export function accountLabel(id: string, me: string, staff: readonly { user_id: string | null; name: string }[]): string {
  if (id === me) return 'you';
  const linked = staff.find((s) => s.user_id === id);
  if (linked) return linked.name;
  return `an account ending ${id.slice(-6)}`;
}

/** A target from the form's kind and value ("" when the value is empty). */
export function makeTarget(kind: 'role' | 'team' | 'staff', value: string): string {
  const v = value.trim();
  return v === '' ? '' : `${kind}:${v}`;
}

// ---- staff -------------------------------------------------------------------

/** The staff form, empty or from a record. */
export function staffForm(s: StaffDto | null): StaffForm {
  return {
    name: s?.name ?? '',
    role: s?.role ?? '',
    team: s?.team ?? '',
    manager_id: s?.manager_id ?? '',
    start_date: s?.start_date ?? '',
    contract: s?.contract ?? '',
    user_id: s?.user_id ?? '',
    supervision_weeks: s?.supervision_weeks != null ? String(s.supervision_weeks) : '',
    appraisal_months: s?.appraisal_months != null ? String(s.appraisal_months) : '',
    left_date: s?.left_date ?? '',
  };
}

/** Who may manage `id`: everyone else (the backend refuses a chain that loops). */
export function managerChoices(people: readonly StaffDto[], id: string | null): StaffDto[] {
  return people.filter((p) => p.id !== id);
}

/** "1.2 MB", "340 KB". */
export function sizeLabel(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}
