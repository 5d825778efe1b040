import { describe, expect, it } from 'vitest';
import type { CheckDto, CheckItemDto, ComplianceAccessDto, CompliancePolicyDto, MatrixDto, StandingDto } from '../bindings';
import {
  accountLabel,
  cellClass,
  cellTitle,
  checkArgs,
  checkDraft,
  fieldControl,
  fieldShown,
  filterMatrix,
  groupStatements,
  makeTarget,
  NO_FILTER,
  percent,
  percentLabel,
  policyActions,
  STANDING_LABEL,
  STANDING_MARK,
  STANDINGS,
  staffForm,
  targetLabel,
  teamsAndRoles,
  toggleStatement,
} from './compliance';

const course = (id: string, category = 'mandatory') => ({ id, name: id.toUpperCase(), category, renewal_months: 12, active: true });
const cell = (standing: StandingDto, expires: string | null = null) => ({ standing, achieved: standing === 'missing' ? null : '2025-01-10', expires });

function matrix(): MatrixDto {
  return {
    today: '2026-12-07',
    courses: [course('fire'), course('food'), course('cc1', 'care_certificate')],
    rows: [
      { staff_id: 'a', name: 'Ann Able', role: 'carer', team: 'north', cells: [cell('valid', '2027-06-01'), cell('expired', '2025-01-10'), cell('missing')] },
      { staff_id: 'b', name: 'Bob Best', role: 'nurse', team: 'south', cells: [cell('due_soon', '2027-01-01'), cell('valid', '2027-03-01'), cell('valid')] },
      { staff_id: 'c', name: 'Cat Cole', role: 'carer', team: null, cells: [cell('missing'), cell('missing'), cell('missing')] },
    ],
    totals: [],
  };
}

describe('standings', () => {
  it('say themselves with a mark and a word, not a colour alone', () => {
    const marks = new Set(STANDINGS.map((s) => STANDING_MARK[s]));
    expect(marks.size).toBe(4);
    for (const s of STANDINGS) {
      expect(STANDING_LABEL[s]).not.toBe('');
      expect(cellClass(s)).toBe(`mx mx-${s}`);
    }
  });

  it('titles a cell in words, with its dates', () => {
    expect(cellTitle('Ann', 'Fire safety', cell('expired', '2025-01-10'))).toBe('Ann — Fire safety: expired (achieved 10 Jan 2025, expired after 10 Jan 2025)');
    expect(cellTitle('Ann', 'Fire safety', cell('valid', '2027-06-01'))).toContain('valid until 1 Jun 2027');
    expect(cellTitle('Ann', 'Care Certificate 1', cell('valid'))).toContain('never lapses');
    expect(cellTitle('Ann', 'Fire safety', cell('missing'))).toBe('Ann — Fire safety: missing (never done)');
  });

  it('counts percent as the crate does', () => {
    expect(percent(2, 3)).toBe(66.7);
    expect(percent(0, 0)).toBe(100);
    expect(percentLabel(66.7)).toBe('66.7%');
    expect(percentLabel(100)).toBe('100%');
  });
});

describe('the training matrix, filtered in the window', () => {
  it('keeps everything with no filter and counts each course', () => {
    const v = filterMatrix(matrix(), NO_FILTER);
    expect(v.columns.map((c) => c.course.id)).toEqual(['fire', 'food', 'cc1']);
    expect(v.rows.map((r) => r.staff_id)).toEqual(['a', 'b', 'c']);
    expect(v.totals[0]).toEqual({ valid: 1, due_soon: 1, expired: 0, missing: 1, percent: 66.7 });
    expect(v.totals[1]).toEqual({ valid: 1, due_soon: 0, expired: 1, missing: 1, percent: 33.3 });
  });

  it('filters people by team, role and name (any case), courses by category and course', () => {
    expect(filterMatrix(matrix(), { ...NO_FILTER, team: 'NORTH' }).rows.map((r) => r.staff_id)).toEqual(['a']);
    expect(filterMatrix(matrix(), { ...NO_FILTER, role: 'carer' }).rows.map((r) => r.staff_id)).toEqual(['a', 'c']);
    expect(filterMatrix(matrix(), { ...NO_FILTER, text: ' best ' }).rows.map((r) => r.staff_id)).toEqual(['b']);
    const care = filterMatrix(matrix(), { ...NO_FILTER, category: 'care_certificate' });
    expect(care.columns).toEqual([{ course: course('cc1', 'care_certificate'), index: 2 }]);
    const one = filterMatrix(matrix(), { ...NO_FILTER, course: 'food' });
    expect(one.columns.map((c) => c.index)).toEqual([1]);
    expect(one.totals).toEqual([{ valid: 1, due_soon: 0, expired: 1, missing: 1, percent: 33.3 }]);
  });

  it('keeps people with a shown course in the standing asked for, and counts only them', () => {
    const expired = filterMatrix(matrix(), { ...NO_FILTER, standing: 'expired' });
    expect(expired.rows.map((r) => r.staff_id)).toEqual(['a']);
    expect(expired.totals[1]).toEqual({ valid: 0, due_soon: 0, expired: 1, missing: 0, percent: 0 });
    // The standing looks only at the courses shown.
    expect(filterMatrix(matrix(), { ...NO_FILTER, standing: 'expired', course: 'fire' }).rows).toEqual([]);
    expect(filterMatrix(matrix(), { ...NO_FILTER, team: 'east' }).totals[0]?.percent).toBe(100);
  });

  it('stays quick at 300 people by 40 courses', () => {
    const courses = Array.from({ length: 40 }, (_, i) => course(`c${i}`, i % 3 === 0 ? 'other' : 'mandatory'));
    const rows = Array.from({ length: 300 }, (_, i) => ({
      staff_id: `s${i}`,
      name: `Person ${i}`,
      role: i % 2 ? 'carer' : 'nurse',
      team: `t${i % 5}`,
      cells: courses.map((_, j) => cell(STANDINGS[(i + j) % 4] ?? 'missing', '2027-01-01')),
    }));
    const big: MatrixDto = { today: '2026-12-07', courses, rows, totals: [] };
    const start = performance.now();
    for (let i = 0; i < 10; i++) filterMatrix(big, { ...NO_FILTER, standing: 'expired', category: 'mandatory' });
    const v = filterMatrix(big, NO_FILTER);
    expect(v.rows.length * v.columns.length).toBe(12_000);
    expect(v.totals.reduce((n, t) => n + t.valid + t.due_soon + t.expired + t.missing, 0)).toBe(12_000);
    expect((performance.now() - start) / 11).toBeLessThan(50);
  });

  it('offers each team and role once, sorted', () => {
    expect(teamsAndRoles(matrix().rows)).toEqual({ teams: ['north', 'south'], roles: ['carer', 'nurse'] });
  });
});

describe('quality statements', () => {
  const questions = [
    { id: 'safe', name: 'Safe' },
    { id: 'effective', name: 'Effective' },
    { id: 'well-led', name: 'Well-led' },
  ];
  const statements = [
    { id: 'S1', key_question: 'safe', name: 'Learning culture' },
    { id: 'W1', key_question: 'well-led', name: 'Shared direction' },
    { id: 'S3', key_question: 'safe', name: 'Safeguarding' },
    { id: 'X1', key_question: 'unknown', name: 'Odd one' },
  ];

  it('group under their key question in the CQC order, empty questions left out', () => {
    const g = groupStatements(questions, statements);
    expect(g.map((x) => [x.id, x.statements.map((s) => s.id)])).toEqual([
      ['safe', ['S1', 'S3']],
      ['well-led', ['W1']],
      ['other', ['X1']],
    ]);
  });

  it('are ticked and unticked in the statements order', () => {
    expect(toggleStatement(['W1'], 'S1', statements)).toEqual(['S1', 'W1']);
    expect(toggleStatement(['S1', 'W1'], 'S1', statements)).toEqual(['W1']);
  });
});

describe('a checklist item drawn from its definition', () => {
  const dbs: CheckItemDto = {
    id: 'dbs',
    name: 'DBS check',
    fields: [
      { key: 'level', label: 'Level', kind: 'choice', choices: ['basic', 'enhanced'], secret: false },
      { key: 'certificate_number', label: 'Certificate number', kind: 'text', choices: [], secret: true },
      { key: 'issue_date', label: 'Issue date', kind: 'date', choices: [], secret: false },
      { key: 'update_service', label: 'Update Service', kind: 'yes_no', choices: [], secret: false },
      { key: 'recheck_months', label: 'Recheck every', kind: 'months', choices: [], secret: false },
    ],
  };
  const saved: CheckDto = {
    item: 'dbs',
    name: 'DBS check',
    status: 'verified',
    details: { level: 'enhanced', issue_date: '2025-01-02', update_service: 'yes', recheck_months: '36' },
    masked: { certificate_number: 'ending 7890' },
    note: null,
    expires: '2028-01-02',
    standing: 'valid',
    evidence: [],
    updated_at: '2026-12-07T10:00:00Z',
  };

  it('takes each field’s input from its kind', () => {
    const controls = dbs.fields.map((f) => fieldControl(f));
    expect(controls.map((c) => c.control)).toEqual(['select', 'secret', 'date', 'select', 'months']);
    expect(controls[0]).toEqual({ control: 'select', options: [{ value: 'basic', label: 'Basic' }, { value: 'enhanced', label: 'Enhanced' }] });
    expect(controls[3]).toEqual({ control: 'select', options: [{ value: 'yes', label: 'Yes' }, { value: 'no', label: 'No' }] });
  });

  it('shows what is recorded in words, a secret by its last characters only', () => {
    const shown = dbs.fields.map((f) => fieldShown(f, saved));
    expect(shown).toEqual(['Enhanced', 'ending 7890', '2 Jan 2025', 'Yes', '36 months']);
    expect(dbs.fields.map((f) => fieldShown(f, null))).toEqual(['', '', '', '', '']);
  });

  it('fills the form from the record, never with a secret, and sends only the item’s fields', () => {
    const d = checkDraft(dbs, saved);
    expect(d.values).toEqual({ level: 'enhanced', certificate_number: '', issue_date: '2025-01-02', update_service: 'yes', recheck_months: '36' });
    expect(d.status).toBe('verified');
    // An empty secret is left out (the backend keeps the one recorded).
    const args = checkArgs(dbs, { ...d, values: { ...d.values, stray: 'x', issue_date: ' 2025-01-03 ' } });
    expect(args.details).toEqual({ level: 'enhanced', issue_date: '2025-01-03', update_service: 'yes', recheck_months: '36' });
    const typed = checkArgs(dbs, { ...d, values: { ...d.values, certificate_number: '001234567890' }, clear: ['certificate_number', 'level'] });
    expect(typed.details.certificate_number).toBe('001234567890');
    expect(typed.clear).toEqual(['certificate_number']);
    expect(checkDraft(dbs, null).status).toBe('verified');
  });
});

describe('policies', () => {
  const access = (admin: boolean, user = 'local'): ComplianceAccessDto => ({ user_id: user, admin, manager: false, staff_id: null, sees_staff: admin });
  const policy = (over: Partial<CompliancePolicyDto>): CompliancePolicyDto => ({
    doc_id: 'd1',
    title: 'Safeguarding',
    kind: 'policy',
    owner: 'Manager',
    review_months: 12,
    next_review: '2027-12-07',
    last_review: null,
    review: 'valid',
    approval: 'draft',
    status: 'draft',
    live_version: null,
    readable_version: 1,
    submitted_by: null,
    approved_version: null,
    approved_by: null,
    approved_at: null,
    ack_from_version: null,
    drafted_by: 'local',
    statements: [],
    ...over,
  });

  it('offer an admin the next step, and say when the submission is their own', () => {
    expect(policyActions(policy({}), access(true))).toMatchObject({ submit: true, approve: false, publish: false, reviewed: false });
    expect(policyActions(policy({ readable_version: null }), access(true)).submit).toBe(false);
    const awaiting = policy({ approval: 'awaiting_approval', submitted_by: 'local' });
    expect(policyActions(awaiting, access(true))).toMatchObject({ submit: false, approve: true, reject: true, ownSubmission: true });
    expect(policyActions(awaiting, access(true, 'someone-else')).ownSubmission).toBe(false);
    expect(policyActions(policy({ approval: 'approved' }), access(true)).publish).toBe(true);
    expect(policyActions(policy({ approval: 'published', status: 'published' }), access(true))).toMatchObject({ reviewed: true, assign: true, publish: false });
  });

  it('offer nothing to someone who is not an admin', () => {
    const a = policyActions(policy({ approval: 'awaiting_approval' }), access(false));
    expect([a.submit, a.approve, a.reject, a.publish, a.reviewed, a.assign]).toEqual([false, false, false, false, false, false]);
  });

  it('name read-and-sign targets in words', () => {
    expect(targetLabel('role:carer')).toBe('Role: carer');
    expect(targetLabel('team:north')).toBe('Team: north');
    expect(targetLabel('staff:s1', new Map([['s1', 'Ann Able']]))).toBe('Ann Able');
    expect(targetLabel('staff:s9')).toBe('Staff: s9');
    expect(makeTarget('team', ' north ')).toBe('team:north');
    expect(makeTarget('staff', '  ')).toBe('');
  });
});

describe('the staff form', () => {
  it('is empty for a new person and filled from a record, numbers as text', () => {
    expect(staffForm(null).supervision_weeks).toBe('');
    const f = staffForm({
      id: 's1',
      name: 'Ann',
      role: 'carer',
      team: null,
      manager_id: 'm1',
      manager_name: 'Mo',
      start_date: '2025-01-06',
      contract: null,
      user_id: null,
      supervision_weeks: 8,
      appraisal_months: null,
      left_date: null,
      updated_at: '',
    });
    expect(f).toEqual({
      name: 'Ann',
      role: 'carer',
      team: '',
      manager_id: 'm1',
      start_date: '2025-01-06',
      contract: '',
      user_id: '',
      supervision_weeks: '8',
      appraisal_months: '',
      left_date: '',
    });
  });
});

describe('accountLabel', () => {
  const staff = [
    { user_id: 'u-cara-000111', name: 'Cara Jones' },
    { user_id: null, name: 'No Account' },
  ];
  it('says you, a linked name, or the end of the id', () => {
    expect(accountLabel('u-me', 'u-me', staff)).toBe('you');
    expect(accountLabel('u-cara-000111', 'u-me', staff)).toBe('Cara Jones');
    expect(accountLabel('01a251b0-c06e-714a-bda6-87baa8c2cae6', 'u-me', staff)).toBe('an account ending c2cae6');
  });
});
