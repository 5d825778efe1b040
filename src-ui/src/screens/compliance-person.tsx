// One person's compliance page: their record; the Schedule 3 checklist,
// each item drawn from its field definitions (dates, yes/no, choices,
// months; secret numbers shown by their last four characters once saved)
// with its evidence files; their training records with certificates; and
// their supervisions and appraisals with when the next are due. Only those
// who may change the record see the forms (the crate refuses the rest).

import { useState } from 'preact/hooks';
import * as api from '../api';
import type { CheckDto, CheckItemDto, ComplianceMetaDto, CourseDto, EvidenceDto, ScheduleDto, StaffDetailDto } from '../bindings';
import { ComplianceTabs, EVIDENCE_FILTERS, PathField, StandingBadge } from '../components/compliance';
import { Badge, EmptyState, ErrorBox, Field, LoadError, Loading, PageHeader, inputValue, words } from '../components/ui';
import { fieldError, toApiError, type ApiError } from '../lib/api-error';
import { checkArgs, checkDraft, fieldControl, fieldShown, sizeLabel, type CheckDraft } from '../lib/compliance';
import { formatDate, formatInstant, todayIso } from '../lib/dates';
import { chooseSavePath } from '../lib/dialogs';
import { routeHref } from '../lib/route';
import { testId } from '../lib/testid';
import { useComplianceMeta } from '../state/compliance';
import { pushToast } from '../state/toasts';
import { useLoader } from '../state/use-loader';

const STATUS_TONE: Record<string, 'ok' | 'warn' | 'plain' | 'accent'> = {
  verified: 'ok',
  received: 'accent',
  not_required: 'plain',
  missing: 'warn',
};

export function PersonScreen(props: { id: string }) {
  const meta = useComplianceMeta();
  const detail = useLoader(() => api.complianceStaffGet(props.id), [props.id], { live: true });
  const d = detail.data;
  const reload = () => void detail.reload();
  if (detail.error) {
    return (
      <div class="page">
        <LoadError error={detail.error} onRetry={reload} />
      </div>
    );
  }
  if (!d || !meta) {
    return (
      <div class="page">
        <Loading />
      </div>
    );
  }
  const s = d.staff;
  return (
    <div class="page">
      <PageHeader title={s.name} subtitle={[s.role, s.team ? `team ${s.team}` : null, `started ${formatDate(s.start_date)}`, s.left_date ? `left ${formatDate(s.left_date)}` : null].filter(Boolean).join(' · ')}>
        <a class="btn" href={routeHref({ name: 'compliance-staff' })}>
          All staff
        </a>
        {d.may_edit && (
          <a class="btn" href={routeHref({ name: 'compliance-person-edit', id: s.id })} data-testid="person-edit">
            Edit record
          </a>
        )}
      </PageHeader>
      <ComplianceTabs current="compliance-staff" access={meta.access} />
      <dl class="card facts" data-testid="person-facts">
        <dt>Manager</dt>
        <dd>{s.manager_id ? <a href={routeHref({ name: 'compliance-person', id: s.manager_id })}>{s.manager_name ?? s.manager_id}</a> : '—'}</dd>
        <dt>Contract</dt>
        <dd>{s.contract ?? '—'}</dd>
        <dt>Supervision</dt>
        <dd>{s.supervision_weeks ? `every ${s.supervision_weeks} weeks` : 'no schedule'}</dd>
        <dt>Appraisal</dt>
        <dd>{s.appraisal_months ? `every ${s.appraisal_months} months` : 'no schedule'}</dd>
        <dt>User account</dt>
        <dd>{s.user_id ?? 'not linked'}</dd>
      </dl>
      <Checklist detail={d} meta={meta} onChanged={reload} />
      <Training detail={d} onChanged={reload} />
      <Supervision detail={d} meta={meta} onChanged={reload} />
    </div>
  );
}

// ---- the checklist -------------------------------------------------------------

function Checklist(props: { detail: StaffDetailDto; meta: ComplianceMetaDto; onChanged: () => void }) {
  const [open, setOpen] = useState<string | null>(null);
  const d = props.detail;
  const done = d.checks.filter((c) => c.standing === 'valid' || c.standing === 'due_soon').length;
  return (
    <section class="card stack" data-testid="person-checks">
      <div class="card-head">
        <h2>Recruitment checks</h2>
        <span class="muted" data-testid="person-checks-count">
          {done} of {d.checks.length} in order
        </span>
      </div>
      <p class="muted small">Schedule 3 of the Regulations, with right to work, references and probation kept beside them.</p>
      <ul class="check-list">
        {props.meta.items.map((item) => {
          const c = d.checks.find((x) => x.item === item.id) ?? null;
          return (
            <CheckRow
              key={item.id}
              item={item}
              check={c}
              meta={props.meta}
              staffId={d.staff.id}
              mayEdit={d.may_edit}
              open={open === item.id}
              onToggle={() => setOpen(open === item.id ? null : item.id)}
              onChanged={props.onChanged}
            />
          );
        })}
      </ul>
    </section>
  );
}

function CheckRow(props: {
  item: CheckItemDto;
  check: CheckDto | null;
  meta: ComplianceMetaDto;
  staffId: string;
  mayEdit: boolean;
  open: boolean;
  onToggle: () => void;
  onChanged: () => void;
}) {
  const { item, check: c } = props;
  const shown = item.fields.map((f) => ({ f, v: fieldShown(f, c) })).filter((x) => x.v !== '');
  return (
    <li class="check-item" data-testid={testId('check', item.id)}>
      <div class="check-head">
        <div class="spacer">
          <strong>{item.name}</strong>
          <div class="row small">
            <Badge tone={STATUS_TONE[c?.status ?? 'missing'] ?? 'plain'} testid={testId('check', item.id, 'status')}>
              {words(c?.status ?? 'missing')}
            </Badge>
            {c && c.status !== 'missing' && (
              <StandingBadge standing={c.standing} testid={testId('check', item.id, 'standing')} label={c.expires ? `${c.standing === 'expired' ? 'Lapsed' : 'Until'} ${formatDate(c.expires)}` : undefined} />
            )}
          </div>
        </div>
        {props.mayEdit && (
          <button type="button" class="btn btn-sm" data-testid={testId('check', item.id, 'open')} aria-expanded={props.open} onClick={props.onToggle}>
            {props.open ? 'Close' : c && c.status !== 'missing' ? 'Change' : 'Record'}
          </button>
        )}
      </div>
      {shown.length > 0 && (
        <dl class="check-values small">
          {shown.map(({ f, v }) => (
            <div key={f.key} class="check-value">
              <dt>{f.label}</dt>
              <dd data-testid={testId('check', item.id, 'value', f.key)}>{v}</dd>
            </div>
          ))}
        </dl>
      )}
      {c?.note && <p class="small muted">{c.note}</p>}
      {c && c.evidence.length > 0 && <EvidenceList files={c.evidence} testid={testId('check', item.id, 'evidence')} />}
      {props.open && (
        <CheckForm
          item={item}
          check={c}
          meta={props.meta}
          staffId={props.staffId}
          onSaved={() => {
            props.onToggle();
            props.onChanged();
          }}
          onChanged={props.onChanged}
        />
      )}
    </li>
  );
}

function CheckForm(props: { item: CheckItemDto; check: CheckDto | null; meta: ComplianceMetaDto; staffId: string; onSaved: () => void; onChanged: () => void }) {
  const { item } = props;
  const [draft, setDraft] = useState<CheckDraft>(checkDraft(item, props.check));
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const keys = item.fields.map((f) => f.key);
  const errFor = (key: string) => fieldError(error, key);
  const inline = error !== null && error.code === 'invalid' && [...keys, 'status', 'note'].includes(error.field ?? '');
  const setValue = (key: string, v: string) => setDraft({ ...draft, values: { ...draft.values, [key]: v } });
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const saved = await api.complianceCheckSet(props.staffId, item.id, checkArgs(item, draft));
      pushToast('success', `${saved.name}: ${words(saved.status).toLowerCase()}`);
      props.onSaved();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };
  const tid = (...parts: string[]) => testId('check', item.id, ...parts);
  return (
    <div class="check-form stack">
      <form class="form" onSubmit={save} noValidate data-testid={tid('form')}>
        <ErrorBox error={inline ? null : error} testid={tid('error')} />
        <div class="form-grid">
          <Field label="Status" name="status" error={errFor('status')}>
            {(a) => (
              <select {...a} class="select" data-testid={tid('field', 'status')} value={draft.status} onChange={(e) => setDraft({ ...draft, status: inputValue(e) })}>
                {props.meta.statuses.map((s) => (
                  <option key={s} value={s}>
                    {words(s)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          {item.fields.map((f) => {
            const ctl = fieldControl(f);
            const value = draft.values[f.key] ?? '';
            const recorded = f.secret ? props.check?.masked[f.key] : undefined;
            const cleared = draft.clear.includes(f.key);
            return (
              <Field
                key={f.key}
                label={f.label}
                name={f.key}
                error={errFor(f.key)}
                hint={
                  recorded && !cleared
                    ? `Recorded, ${recorded}. Leave empty to keep it.`
                    : ctl.control === 'date'
                      ? 'YYYY-MM-DD or DD/MM/YYYY'
                      : ctl.control === 'secret'
                        ? 'Kept encrypted; shown afterwards by its last four characters only.'
                        : undefined
                }
              >
                {(a) =>
                  ctl.control === 'select' ? (
                    <select {...a} class="select" data-testid={tid('field', f.key)} value={value} onChange={(e) => setValue(f.key, inputValue(e))}>
                      <option value="">Not recorded</option>
                      {ctl.options.map((o) => (
                        <option key={o.value} value={o.value}>
                          {o.label}
                        </option>
                      ))}
                    </select>
                  ) : ctl.control === 'secret' ? (
                    <div class="stack-sm">
                      <input
                        {...a}
                        class="input"
                        type="password"
                        autoComplete="off"
                        data-testid={tid('field', f.key)}
                        value={value}
                        onInput={(e) => setValue(f.key, inputValue(e))}
                      />
                      {recorded && (
                        <label class="check small">
                          <input
                            type="checkbox"
                            data-testid={tid('clear', f.key)}
                            checked={cleared}
                            onChange={() => setDraft({ ...draft, clear: cleared ? draft.clear.filter((k) => k !== f.key) : [...draft.clear, f.key] })}
                          />
                          Remove the recorded number
                        </label>
                      )}
                    </div>
                  ) : (
                    <input
                      {...a}
                      class="input"
                      inputMode={ctl.control === 'months' ? 'numeric' : undefined}
                      placeholder={ctl.control === 'date' ? 'YYYY-MM-DD' : ctl.control === 'months' ? 'months' : undefined}
                      data-testid={tid('field', f.key)}
                      value={value}
                      onInput={(e) => setValue(f.key, inputValue(e))}
                    />
                  )
                }
              </Field>
            );
          })}
          <Field label="Note" name="note" error={errFor('note')} class="span-2">
            {(a) => <textarea {...a} class="input" rows={2} data-testid={tid('field', 'note')} value={draft.note} onInput={(e) => setDraft({ ...draft, note: inputValue(e) })} />}
          </Field>
        </div>
        <div class="form-actions">
          <button type="submit" class="btn btn-primary" data-testid={tid('save')} disabled={busy}>
            {busy ? 'Saving…' : 'Save'}
          </button>
        </div>
      </form>
      <AddEvidence staffId={props.staffId} item={item.id} label={`Evidence for “${item.name}”`} onAdded={props.onChanged} />
    </div>
  );
}

/** Keep a file as evidence (checked by its bytes: PDF, Word, PNG or JPEG, up to 20 MB). */
function AddEvidence(props: { staffId: string; item: string; label: string; onAdded: () => void }) {
  const [path, setPath] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const add = async () => {
    setBusy(true);
    setError(null);
    try {
      const e = await api.complianceEvidenceAdd(props.staffId, props.item, path);
      pushToast('success', `${e.file_name} kept as evidence`);
      setPath('');
      props.onAdded();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };
  const tid = (...parts: string[]) => testId('evidence', props.item, ...parts);
  return (
    <div class="stack-sm evidence-add" data-testid={tid('add')}>
      <ErrorBox error={error && fieldError(error, 'evidence_file') === null ? error : null} testid={tid('error')} />
      <PathField
        label={props.label}
        name="evidence_file"
        value={path}
        onChange={setPath}
        error={fieldError(error, 'evidence_file')}
        testid={tid('path')}
        mode="open"
        filters={EVIDENCE_FILTERS}
        dialogTitle="Choose an evidence file"
        hint="A PDF, a Word document, or a PNG or JPEG photo, up to 20 MB; kept encrypted in this profile."
        onDialogError={setError}
      />
      <div class="form-actions">
        <button type="button" class="btn" data-testid={tid('go')} disabled={busy || path.trim() === ''} onClick={() => void add()}>
          {busy ? 'Adding…' : 'Add file'}
        </button>
      </div>
    </div>
  );
}

function EvidenceList(props: { files: EvidenceDto[]; testid: string }) {
  const save = async (e: EvidenceDto) => {
    try {
      const path = await chooseSavePath(e.file_name, [{ name: e.kind.toUpperCase(), extensions: [e.kind === 'jpeg' ? 'jpg' : e.kind] }], 'Save a copy of the evidence');
      if (!path) return;
      await api.complianceEvidenceSave(e.id, path);
      pushToast('success', `${e.file_name} saved`);
    } catch (err) {
      pushToast('error', toApiError(err).message);
    }
  };
  return (
    <ul class="plain-list small" data-testid={props.testid}>
      {props.files.map((f) => (
        <li key={f.id} class="row">
          <span class="file-name">{f.file_name}</span>
          <span class="muted">
            {f.kind.toUpperCase()}, {sizeLabel(f.size)}, added {formatInstant(f.added_at)}
          </span>
          <button type="button" class="link-button" data-testid={testId('evidence-save', f.id)} onClick={() => void save(f)}>
            Save a copy…
          </button>
        </li>
      ))}
    </ul>
  );
}

// ---- training ----------------------------------------------------------------------

function Training(props: { detail: StaffDetailDto; onChanged: () => void }) {
  const d = props.detail;
  const [adding, setAdding] = useState(false);
  const courses = useLoader(() => api.complianceCourses(false), []);
  const files = new Map(d.training_evidence.map((e) => [e.id, e]));
  return (
    <section class="card stack" data-testid="person-training">
      <div class="card-head">
        <h2>Training</h2>
        {d.may_edit && (
          <button type="button" class="btn btn-sm" data-testid="training-add-open" onClick={() => setAdding(!adding)}>
            {adding ? 'Close' : 'Add a training record'}
          </button>
        )}
      </div>
      {adding && (
        <TrainingFormView
          staffId={d.staff.id}
          courses={courses.data ?? []}
          onSaved={() => {
            setAdding(false);
            props.onChanged();
          }}
        />
      )}
      {d.training.length === 0 ? (
        <p class="muted" data-testid="training-none">
          No training recorded yet.
        </p>
      ) : (
        <table class="table" data-testid="training-table">
          <thead>
            <tr>
              <th>Course</th>
              <th>Achieved</th>
              <th>Valid until</th>
              <th>Provider</th>
              <th>Certificate</th>
            </tr>
          </thead>
          <tbody>
            {d.training.map((r) => {
              const cert = r.evidence_id ? files.get(r.evidence_id) : undefined;
              return (
                <tr key={r.id} data-testid={testId('training-row', r.course_id)}>
                  <td>{r.course_name}</td>
                  <td>{formatDate(r.achieved)}</td>
                  <td>
                    {r.expires ? formatDate(r.expires) : 'never lapses'} <StandingBadge standing={r.standing} testid={testId('training-standing', r.course_id)} />
                  </td>
                  <td>{r.provider ?? '—'}</td>
                  <td>{cert ? <EvidenceList files={[cert]} testid={testId('training-cert', r.id)} /> : '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

const TRAINING_FIELDS = ['course', 'achieved', 'expires', 'provider', 'evidence_file'];

function TrainingFormView(props: { staffId: string; courses: CourseDto[]; onSaved: () => void }) {
  const [course, setCourse] = useState('');
  const [achieved, setAchieved] = useState('');
  const [expires, setExpires] = useState('');
  const [provider, setProvider] = useState('');
  const [certificate, setCertificate] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const chosen = props.courses.find((c) => c.id === course);
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api.complianceTrainingRecord({ staff_id: props.staffId, course, achieved, expires, provider, certificate_path: certificate });
      pushToast('success', `${r.course_name} recorded`);
      props.onSaved();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };
  const inline = error !== null && error.code === 'invalid' && TRAINING_FIELDS.includes(error.field ?? '');
  return (
    <form class="form check-form" onSubmit={save} noValidate data-testid="training-form">
      <ErrorBox error={inline ? null : error} testid="training-error" />
      <div class="form-grid">
        <Field label="Course" name="course" error={fieldError(error, 'course')}>
          {(a) => (
            <select {...a} class="select" data-testid="training-course" value={course} onChange={(e) => setCourse(inputValue(e))}>
              <option value="">Choose a course</option>
              {props.courses.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Achieved on" name="achieved" error={fieldError(error, 'achieved')} hint="YYYY-MM-DD or DD/MM/YYYY">
          {(a) => <input {...a} class="input" placeholder="YYYY-MM-DD" data-testid="training-achieved" value={achieved} onInput={(e) => setAchieved(inputValue(e))} />}
        </Field>
        <Field
          label="Valid until"
          name="expires"
          error={fieldError(error, 'expires')}
          hint={chosen ? (chosen.renewal_months ? `Empty: ${chosen.renewal_months} months from the day achieved.` : 'Empty: this course never lapses.') : 'As the certificate says; empty: the course’s renewal period.'}
        >
          {(a) => <input {...a} class="input" placeholder="YYYY-MM-DD" data-testid="training-expires" value={expires} onInput={(e) => setExpires(inputValue(e))} />}
        </Field>
        <Field label="Provider" name="provider" error={fieldError(error, 'provider')}>
          {(a) => <input {...a} class="input" data-testid="training-provider" value={provider} onInput={(e) => setProvider(inputValue(e))} />}
        </Field>
      </div>
      <PathField
        label="Certificate (optional)"
        name="evidence_file"
        value={certificate}
        onChange={setCertificate}
        error={fieldError(error, 'evidence_file')}
        testid="training-certificate"
        mode="open"
        filters={EVIDENCE_FILTERS}
        dialogTitle="Choose the certificate"
        hint="Kept encrypted with the record: both are saved, or neither."
        onDialogError={setError}
      />
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" data-testid="training-save" disabled={busy}>
          {busy ? 'Saving…' : 'Save training'}
        </button>
      </div>
    </form>
  );
}

// ---- supervisions and appraisals --------------------------------------------------------

function scheduleLabel(s: ScheduleDto): string {
  if (!s.next_due) return 'No schedule set';
  if (s.standing === 'expired') return `Overdue since ${formatDate(s.next_due)}`;
  if (s.standing === 'due_soon') return `Due ${formatDate(s.next_due)}`;
  return `Next by ${formatDate(s.next_due)}`;
}

function Supervision(props: { detail: StaffDetailDto; meta: ComplianceMetaDto; onChanged: () => void }) {
  const d = props.detail;
  const [adding, setAdding] = useState(false);
  return (
    <section class="card stack" data-testid="person-supervision">
      <div class="card-head">
        <h2>Supervision and appraisal</h2>
        {d.may_edit && (
          <button type="button" class="btn btn-sm" data-testid="meeting-add-open" onClick={() => setAdding(!adding)}>
            {adding ? 'Close' : 'Record a meeting'}
          </button>
        )}
      </div>
      <div class="grid-2">
        {d.schedules.map((s) => (
          <div key={s.kind} class="card card-tight" data-testid={testId('schedule', s.kind)}>
            <div class="figure">
              <span class="figure-label">{words(s.kind)}</span>
              <span>
                {s.next_due ? (
                  <StandingBadge standing={s.standing} label={scheduleLabel(s)} testid={testId('schedule', s.kind, 'standing')} />
                ) : (
                  <Badge testid={testId('schedule', s.kind, 'standing')}>No schedule set</Badge>
                )}
              </span>
              <span class="figure-hint">{s.last ? `Last held ${formatDate(s.last)}` : 'None held yet'}</span>
            </div>
          </div>
        ))}
      </div>
      {adding && (
        <MeetingFormView
          staffId={d.staff.id}
          meta={props.meta}
          onSaved={() => {
            setAdding(false);
            props.onChanged();
          }}
        />
      )}
      {d.meetings.length === 0 ? (
        <EmptyState title="No meetings recorded" testid="meetings-none" />
      ) : (
        <table class="table" data-testid="meetings-table">
          <thead>
            <tr>
              <th>Date</th>
              <th>Kind</th>
              <th>Held by</th>
              <th>Notes</th>
            </tr>
          </thead>
          <tbody>
            {d.meetings.map((m) => (
              <tr key={m.id}>
                <td>{formatDate(m.date)}</td>
                <td>{words(m.kind)}</td>
                <td>{m.supervisor}</td>
                <td class="pre-wrap">{m.notes ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function MeetingFormView(props: { staffId: string; meta: ComplianceMetaDto; onSaved: () => void }) {
  const [kind, setKind] = useState(props.meta.meeting_kinds[0] ?? 'supervision');
  const [date, setDate] = useState(todayIso());
  const [supervisor, setSupervisor] = useState('');
  const [notes, setNotes] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const m = await api.complianceMeetingRecord(props.staffId, { kind, date, supervisor, notes });
      pushToast('success', `${words(m.kind)} on ${formatDate(m.date)} recorded`);
      props.onSaved();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };
  const inline = error !== null && error.code === 'invalid' && ['kind', 'date', 'supervisor', 'notes'].includes(error.field ?? '');
  return (
    <form class="form check-form" onSubmit={save} noValidate data-testid="meeting-form">
      <ErrorBox error={inline ? null : error} testid="meeting-error" />
      <div class="form-grid">
        <Field label="Kind" name="kind" error={fieldError(error, 'kind')}>
          {(a) => (
            <select {...a} class="select" data-testid="meeting-kind" value={kind} onChange={(e) => setKind(inputValue(e))}>
              {props.meta.meeting_kinds.map((k) => (
                <option key={k} value={k}>
                  {words(k)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Held on" name="date" error={fieldError(error, 'date')} hint="YYYY-MM-DD or DD/MM/YYYY">
          {(a) => <input {...a} class="input" data-testid="meeting-date" value={date} onInput={(e) => setDate(inputValue(e))} />}
        </Field>
        <Field label="Held by" name="supervisor" error={fieldError(error, 'supervisor')}>
          {(a) => <input {...a} class="input" data-testid="meeting-supervisor" value={supervisor} onInput={(e) => setSupervisor(inputValue(e))} />}
        </Field>
        <Field label="Notes" name="notes" error={fieldError(error, 'notes')} class="span-2">
          {(a) => <textarea {...a} class="input" rows={3} data-testid="meeting-notes" value={notes} onInput={(e) => setNotes(inputValue(e))} />}
        </Field>
      </div>
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" data-testid="meeting-save" disabled={busy}>
          {busy ? 'Saving…' : 'Save'}
        </button>
      </div>
    </form>
  );
}
