// Staff: the people this person may see (admins everyone, managers their
// people, staff themselves), found by team, role or name, leavers on
// request; and the form that adds or changes a record. Validation is the
// Rust side's: its errors are shown under the field they name.

import { useEffect, useRef, useState } from 'preact/hooks';
import * as api from '../api';
import type { StaffDto, StaffForm } from '../bindings';
import { ComplianceTabs } from '../components/compliance';
import { EmptyState, ErrorBox, Field, LoadError, Loading, PageHeader, inputValue } from '../components/ui';
import { toApiError, type ApiError } from '../lib/api-error';
import { managerChoices, staffForm, teamsAndRoles } from '../lib/compliance';
import { formatDate } from '../lib/dates';
import { routeHref } from '../lib/route';
import { testId } from '../lib/testid';
import { useComplianceMeta } from '../state/compliance';
import { navigate } from '../state/router';
import { pushToast } from '../state/toasts';
import { useLoader } from '../state/use-loader';

export function StaffScreen() {
  const meta = useComplianceMeta();
  const [team, setTeam] = useState('');
  const [role, setRole] = useState('');
  const [text, setText] = useState('');
  const [leavers, setLeavers] = useState(false);
  // Every record once, for the filters' choices; the list itself filtered by the backend.
  const everyone = useLoader(() => api.complianceStaffList({ team: null, role: null, text: null, include_left: true }), [], { live: true });
  const list = useLoader(
    () => api.complianceStaffList({ team: team || null, role: role || null, text: text.trim() || null, include_left: leavers }),
    [team, role, text, leavers],
    { live: true },
  );
  const access = meta?.access ?? null;
  const { teams, roles } = teamsAndRoles(everyone.data ?? []);
  const mayAdd = access !== null && (access.admin || access.manager || access.staff_id !== null);
  return (
    <div class="page">
      <PageHeader title="Staff" subtitle="Recruitment checks, evidence, training and supervision for each person.">
        {access && (access.admin || access.manager) && (
          <a class="btn btn-primary" href={routeHref({ name: 'compliance-staff-new' })} data-testid="staff-new">
            Add staff
          </a>
        )}
      </PageHeader>
      <ComplianceTabs current="compliance-staff" access={access} />
      <div class="card">
        <div class="row filters">
          <input
            class="input spacer"
            type="search"
            placeholder="Find by name"
            aria-label="Find by name"
            data-testid="staff-filter"
            value={text}
            onInput={(e) => setText(inputValue(e))}
          />
          <select class="input" aria-label="Team" data-testid="staff-team" value={team} onChange={(e) => setTeam(inputValue(e))}>
            <option value="">Every team</option>
            {teams.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
          <select class="input" aria-label="Role" data-testid="staff-role" value={role} onChange={(e) => setRole(inputValue(e))}>
            <option value="">Every role</option>
            {roles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <label class="check nowrap">
            <input type="checkbox" data-testid="staff-leavers" checked={leavers} onChange={() => setLeavers(!leavers)} />
            Include leavers
          </label>
        </div>
      </div>
      <LoadError error={list.error} onRetry={() => void list.reload()} />
      {!list.data && !list.error && <Loading />}
      {list.data && list.data.length === 0 && (
        <EmptyState title={text || team || role ? 'Nobody matches' : 'No staff records yet'} testid="staff-empty">
          {mayAdd && access?.admin ? 'Add the people who work here with “Add staff”.' : 'There is no staff record you may see.'}
        </EmptyState>
      )}
      {list.data && list.data.length > 0 && (
        <div class="card">
          <table class="table" data-testid="staff-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Role</th>
                <th>Team</th>
                <th>Manager</th>
                <th>Started</th>
                <th>Left</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((s) => (
                <tr key={s.id} data-testid={testId('staff-row', s.id)}>
                  <td>
                    <a href={routeHref({ name: 'compliance-person', id: s.id })} data-testid="staff-open">
                      {s.name}
                    </a>
                  </td>
                  <td>{s.role}</td>
                  <td>{s.team ?? '—'}</td>
                  <td>{s.manager_name ?? '—'}</td>
                  <td>{formatDate(s.start_date)}</td>
                  <td>{s.left_date ? formatDate(s.left_date) : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="muted small" data-testid="staff-count">
            {list.data.length} {list.data.length === 1 ? 'person' : 'people'}
          </p>
        </div>
      )}
    </div>
  );
}

export function StaffNewScreen() {
  return <StaffFormView staff={null} />;
}

export function StaffEditScreen(props: { id: string }) {
  const detail = useLoader(() => api.complianceStaffGet(props.id), [props.id]);
  if (detail.error) {
    return (
      <div class="page">
        <LoadError error={detail.error} onRetry={() => void detail.reload()} />
      </div>
    );
  }
  if (!detail.data) {
    return (
      <div class="page">
        <Loading />
      </div>
    );
  }
  return <StaffFormView staff={detail.data.staff} />;
}

/** The form's inputs, each named as the backend names it in its errors. */
const FIELDS = ['name', 'role', 'team', 'manager_id', 'start_date', 'contract', 'user_id', 'supervision_weeks', 'appraisal_months', 'left_date'] as const;

function StaffFormView(props: { staff: StaffDto | null }) {
  const meta = useComplianceMeta();
  const people = useLoader(() => api.complianceStaffList({ team: null, role: null, text: null, include_left: false }), []);
  const [form, setForm] = useState<StaffForm>(staffForm(props.staff));
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const editing = props.staff !== null;

  useEffect(() => {
    if (!error) return;
    const target = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]') ?? formRef.current?.querySelector<HTMLElement>('[role="alert"]');
    target?.focus();
  }, [error]);

  const errFor = (name: string) => (error && error.code === 'invalid' && error.field === name ? error.message : null);
  const inline = error && error.code === 'invalid' && (FIELDS as readonly string[]).includes(error.field ?? '');
  const set = (key: keyof StaffForm) => (e: Event) => setForm({ ...form, [key]: inputValue(e) });
  const text = (key: keyof StaffForm, label: string, opts: { hint?: string; placeholder?: string; list?: string } = {}) => (
    <Field label={label} name={key} error={errFor(key)} hint={opts.hint}>
      {(a) => <input {...a} class="input" list={opts.list} placeholder={opts.placeholder} data-testid={`staff-${key}`} value={form[key]} onInput={set(key)} />}
    </Field>
  );
  const { teams, roles } = teamsAndRoles(people.data ?? []);

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const saved = props.staff ? await api.complianceStaffUpdate(props.staff.id, form) : await api.complianceStaffCreate(form);
      pushToast('success', editing ? 'Staff record saved' : `${saved.name} added`);
      navigate({ name: 'compliance-person', id: saved.id });
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="page">
      <PageHeader title={editing ? `Edit ${props.staff?.name ?? 'staff record'}` : 'Add staff'}>
        <button
          type="button"
          class="btn"
          onClick={() => (props.staff ? navigate({ name: 'compliance-person', id: props.staff.id }) : navigate({ name: 'compliance-staff' }))}
        >
          Cancel
        </button>
      </PageHeader>
      <form class="card form" onSubmit={save} noValidate ref={formRef} data-testid="staff-form">
        <ErrorBox error={inline ? null : error} />
        <div class="form-grid">
          {text('name', 'Full name')}
          {text('role', 'Role', { hint: 'e.g. carer, senior carer, nurse, manager', list: 'staff-roles' })}
          {text('team', 'Team', { list: 'staff-teams' })}
          <Field label="Manager" name="manager_id" error={errFor('manager_id')} hint="They see and keep this person’s records.">
            {(a) => (
              <select {...a} class="select" data-testid="staff-manager_id" value={form.manager_id} onChange={set('manager_id')}>
                <option value="">No manager</option>
                {managerChoices(people.data ?? [], props.staff?.id ?? null).map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name} ({p.role})
                  </option>
                ))}
              </select>
            )}
          </Field>
          {text('start_date', 'Start date', { placeholder: 'YYYY-MM-DD or DD/MM/YYYY' })}
          {text('contract', 'Contract', { hint: 'e.g. full-time, part-time, zero-hours, bank' })}
          {text('supervision_weeks', 'Supervision every (weeks)', { placeholder: 'e.g. 8' })}
          {text('appraisal_months', 'Appraisal every (months)', { placeholder: 'e.g. 12' })}
          {text('user_id', 'Linked user account (id)', {
            hint: meta ? `The account they sign in with; they then see their own record and reading. Yours is ${meta.access.user_id}.` : undefined,
          })}
          {text('left_date', 'Left on', { placeholder: 'YYYY-MM-DD', hint: 'Leave empty while they work here.' })}
        </div>
        <datalist id="staff-roles">
          {roles.map((r) => (
            <option key={r} value={r} />
          ))}
        </datalist>
        <datalist id="staff-teams">
          {teams.map((t) => (
            <option key={t} value={t} />
          ))}
        </datalist>
        <div class="form-actions">
          <button type="submit" class="btn btn-primary" data-testid="staff-save" disabled={busy}>
            {busy ? 'Saving…' : editing ? 'Save changes' : 'Add staff'}
          </button>
        </div>
      </form>
    </div>
  );
}
