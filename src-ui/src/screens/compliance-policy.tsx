// One policy or SOP: where its approval stands and the next step (submit,
// approve or reject with a reason, publish with "minor change", mark
// reviewed); its settings; who must read and sign it by when (a role, a
// team or a person) and where each of them stands. Admins act here; the
// crate refuses what is not theirs to do (approving one's own submission
// among them) and the refusal is shown as it is said.

import { useState } from 'preact/hooks';
import * as api from '../api';
import type { AckStatusDto, AssignmentDto, ComplianceMetaDto, CompliancePolicyDto, CompliancePolicyForm, StaffDto } from '../bindings';
import { ComplianceTabs, StandingBadge } from '../components/compliance';
import { Badge, ErrorBox, Field, Figure, LoadError, Loading, Modal, PageHeader, inputValue } from '../components/ui';
import { fieldError, toApiError, type ApiError } from '../lib/api-error';
import { ACK_LABEL, ACK_TONE, APPROVAL_LABEL, APPROVAL_TONE, accountLabel, makeTarget, percentLabel, policyActions, REVIEW_LABEL, targetLabel } from '../lib/compliance';
import { formatDate, formatInstant } from '../lib/dates';
import { routeHref } from '../lib/route';
import { testId } from '../lib/testid';
import { useComplianceMeta } from '../state/compliance';
import { pushToast } from '../state/toasts';
import { useLoader } from '../state/use-loader';
import { POLICY_FIELDS, PolicyFields } from './compliance-policies';

export function PolicyComplianceScreen(props: { id: string }) {
  const meta = useComplianceMeta();
  const detail = useLoader(() => api.compliancePolicyGet(props.id), [props.id], { live: true });
  const staff = useLoader(() => api.complianceStaffList({ team: null, role: null, text: null, include_left: false }), []);
  const reload = () => void detail.reload();
  if (detail.error) {
    return (
      <div class="page">
        <LoadError error={detail.error} onRetry={reload} />
      </div>
    );
  }
  const d = detail.data;
  if (!d || !meta) {
    return (
      <div class="page">
        <Loading />
      </div>
    );
  }
  const p = d.policy;
  const names = new Map((staff.data ?? []).map((s) => [s.id, s.name]));
  return (
    <div class="page">
      <PageHeader title={p.title} subtitle={`${p.kind === 'sop' ? 'SOP' : 'Policy'} · owner ${p.owner}`}>
        <a class="btn" href={routeHref({ name: 'compliance-policies' })}>
          All policies
        </a>
        <a class="btn" href={routeHref({ name: 'document', id: p.doc_id })} data-testid="cp-document">
          The document
        </a>
        {p.live_version !== null && (
          <a class="btn" href={routeHref({ name: 'doc-view', id: p.doc_id, version: p.live_version, page: 1 })} data-testid="cp-read">
            Read
          </a>
        )}
      </PageHeader>
      <ComplianceTabs current="compliance-policies" access={meta.access} />
      <Approval policy={p} meta={meta} staff={staff.data ?? []} onChanged={reload} />
      {meta.access.admin && <Settings policy={p} meta={meta} onChanged={reload} />}
      <ReadAndSign policy={p} status={d.status} assignments={d.assignments} names={names} staff={staff.data ?? []} admin={meta.access.admin} onChanged={reload} />
    </div>
  );
}

function Approval(props: { policy: CompliancePolicyDto; meta: ComplianceMetaDto; staff: StaffDto[]; onChanged: () => void }) {
  const p = props.policy;
  const who = (id: string) => accountLabel(id, props.meta.access.user_id, props.staff);
  const can = policyActions(p, props.meta.access);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');
  const [minor, setMinor] = useState(false);
  const act = async (what: string, run: () => Promise<CompliancePolicyDto>) => {
    setBusy(true);
    setError(null);
    try {
      const after = await run();
      pushToast('success', `${after.title}: ${what}`);
      setRejecting(false);
      setReason('');
      props.onChanged();
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  };
  const version = p.readable_version;
  return (
    <section class="card stack" data-testid="cp-approval">
      <div class="doc-facts-row">
        <Badge tone={APPROVAL_TONE[p.approval] ?? 'plain'} testid="cp-approval-state">
          {APPROVAL_LABEL[p.approval] ?? p.approval}
        </Badge>
        <StandingBadge standing={p.review} label={`${REVIEW_LABEL[p.review]}: ${formatDate(p.next_review)}`} testid="cp-review" />
        <span class="muted small">
          {version !== null ? `Newest readable version v${version}` : 'No readable version yet'}
          {p.status === 'published' && p.live_version !== null ? ` · v${p.live_version} in force` : ' · not published'}
          {p.last_review ? ` · last reviewed ${formatDate(p.last_review)}` : ''}
        </span>
      </div>
      <p class="muted small" data-testid="cp-approval-facts">
        Drafted by {who(p.drafted_by)}
        {p.approval === 'awaiting_approval' && p.submitted_by ? `; submitted by ${who(p.submitted_by)}` : ''}
        {p.approved_by && p.approved_at ? `; v${p.approved_version ?? '?'} approved by ${who(p.approved_by)} on ${formatInstant(p.approved_at)}` : ''}.
      </p>
      {can.ownSubmission && !error && (
        <p class="alert alert-info" data-testid="cp-own-submission">
          You submitted this version: another admin must approve it.
        </p>
      )}
      <ErrorBox error={error && fieldError(error, 'reason') === null ? error : null} testid="cp-action-error" />
      {props.meta.access.admin && (
        <div class="row">
          {can.submit && (
            <button type="button" class="btn btn-primary" data-testid="cp-submit" disabled={busy} onClick={() => void act('submitted for approval', () => api.compliancePolicySubmit(p.doc_id))}>
              Submit v{version} for approval
            </button>
          )}
          {can.approve && (
            <button type="button" class="btn btn-primary" data-testid="cp-approve" disabled={busy} onClick={() => void act('approved', () => api.compliancePolicyApprove(p.doc_id))}>
              Approve v{version}
            </button>
          )}
          {can.reject && (
            <button type="button" class="btn btn-danger" data-testid="cp-reject-open" disabled={busy} onClick={() => setRejecting(true)}>
              Reject…
            </button>
          )}
          {can.publish && (
            <>
              <label class="check">
                <input type="checkbox" data-testid="cp-minor" checked={minor} onChange={() => setMinor(!minor)} />
                Minor change (earlier signatures still count)
              </label>
              <button type="button" class="btn btn-primary" data-testid="cp-publish" disabled={busy} onClick={() => void act('published', () => api.compliancePolicyPublish(p.doc_id, minor))}>
                Publish v{p.approved_version ?? version}
              </button>
            </>
          )}
          {can.reviewed && (
            <button type="button" class="btn" data-testid="cp-reviewed" disabled={busy} onClick={() => void act('review recorded', () => api.compliancePolicyReviewed(p.doc_id))}>
              Mark reviewed (no change)
            </button>
          )}
        </div>
      )}
      {rejecting && (
        <Modal title={`Reject v${version}?`} onClose={() => setRejecting(false)} testid="cp-reject-dialog">
          <form
            class="form"
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              void act('sent back to draft', () => api.compliancePolicyReject(p.doc_id, reason));
            }}
          >
            <Field label="Why" name="reason" error={fieldError(error, 'reason')} hint="The person who submitted it reads this.">
              {(a) => <textarea {...a} class="input" rows={3} data-testid="cp-reject-reason" value={reason} onInput={(e) => setReason(inputValue(e))} />}
            </Field>
            <div class="form-actions">
              <button type="button" class="btn" onClick={() => setRejecting(false)}>
                Keep it
              </button>
              <button type="submit" class="btn btn-danger-solid" data-testid="cp-reject" disabled={busy}>
                Send back to draft
              </button>
            </div>
          </form>
        </Modal>
      )}
    </section>
  );
}

function Settings(props: { policy: CompliancePolicyDto; meta: ComplianceMetaDto; onChanged: () => void }) {
  const p = props.policy;
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState<CompliancePolicyForm>({ kind: p.kind, owner: p.owner, review_months: String(p.review_months), statements: p.statements });
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.compliancePolicyEdit(p.doc_id, form);
      pushToast('success', 'Policy settings saved');
      setOpen(false);
      props.onChanged();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };
  const inline = error !== null && error.code === 'invalid' && POLICY_FIELDS.includes(error.field ?? '');
  return (
    <section class="card stack" data-testid="cp-settings">
      <div class="card-head">
        <h2>Settings</h2>
        <button type="button" class="btn btn-sm" data-testid="cp-settings-open" onClick={() => setOpen(!open)}>
          {open ? 'Close' : 'Change'}
        </button>
      </div>
      {!open && (
        <dl class="facts">
          <dt>Review cycle</dt>
          <dd>every {p.review_months} months</dd>
          <dt>Quality statements</dt>
          <dd data-testid="cp-statement-list">
            {p.statements.length === 0
              ? 'none'
              : p.statements.map((id) => `${id} ${props.meta.statements.find((s) => s.id === id)?.name ?? ''}`.trim()).join('; ')}
          </dd>
        </dl>
      )}
      {open && (
        <form class="form" onSubmit={save} noValidate>
          <ErrorBox error={inline ? null : error} testid="cp-settings-error" />
          <PolicyFields meta={props.meta} form={form} onChange={setForm} error={error} />
          <div class="form-actions">
            <button type="submit" class="btn btn-primary" data-testid="cp-settings-save" disabled={busy}>
              Save settings
            </button>
          </div>
        </form>
      )}
    </section>
  );
}

function ReadAndSign(props: {
  policy: CompliancePolicyDto;
  status: AckStatusDto;
  assignments: AssignmentDto[];
  names: ReadonlyMap<string, string>;
  staff: StaffDto[];
  admin: boolean;
  onChanged: () => void;
}) {
  const st = props.status;
  const p = props.policy;
  const remove = async (target: string) => {
    try {
      await api.complianceUnassign(p.doc_id, target);
      pushToast('success', `No longer asked of ${targetLabel(target, props.names)}`);
      props.onChanged();
    } catch (e) {
      pushToast('error', toApiError(e).message);
    }
  };
  return (
    <section class="card stack" data-testid="cp-readsign">
      <h2>Read and sign</h2>
      {p.status !== 'published' && <p class="muted">Once published, ask roles, teams or people to read it and say “I have read and understood”.</p>}
      <div class="grid-3">
        <Figure
          label="Signed"
          value={st.people.length === 0 ? '—' : percentLabel(st.percent)}
          testid="cp-ack-percent"
          hint={st.people.length === 0 ? 'nobody is asked yet' : `${st.done} of ${st.people.length} people`}
        />
        <Figure label="Pending" value={st.pending} testid="cp-ack-pending" />
        <Figure label="Overdue" value={st.overdue} testid="cp-ack-overdue" />
      </div>
      {st.from_version !== null && st.version !== null && st.from_version < st.version && (
        <p class="muted small">v{st.version} was a minor change: signatures from v{st.from_version} on still count.</p>
      )}
      {props.assignments.length > 0 && (
        <div class="stack-sm">
          <h3>Asked of</h3>
          <ul class="plain-list" data-testid="cp-assignments">
            {props.assignments.map((a) => (
              <li key={a.id} class="row">
                <span>{targetLabel(a.target, props.names)}</span>
                <span class="muted">by {formatDate(a.due)}</span>
                {props.admin && (
                  <button type="button" class="link-button" data-testid={testId('cp-unassign', a.target)} onClick={() => void remove(a.target)}>
                    Remove
                  </button>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}
      {props.admin && p.status === 'published' && <AssignForm docId={p.doc_id} staff={props.staff} onAssigned={props.onChanged} />}
      {st.people.length > 0 && (
        <table class="table" data-testid="cp-people">
          <thead>
            <tr>
              <th>Person</th>
              <th>Team</th>
              <th>Due</th>
              <th>State</th>
              <th>Signed</th>
            </tr>
          </thead>
          <tbody>
            {st.people.map((x) => (
              <tr key={x.staff_id} data-testid={testId('cp-person', x.staff_id)}>
                <td>{x.name}</td>
                <td>{x.team ?? '—'}</td>
                <td>{formatDate(x.due)}</td>
                <td>
                  <Badge tone={ACK_TONE[x.state]}>{ACK_LABEL[x.state]}</Badge>
                </td>
                <td>{x.at ? `${formatInstant(x.at)} (v${x.version ?? '?'})` : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function AssignForm(props: { docId: string; staff: StaffDto[]; onAssigned: () => void }) {
  const [kind, setKind] = useState<'role' | 'team' | 'staff'>('team');
  const [value, setValue] = useState('');
  const [due, setDue] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const teams = [...new Set(props.staff.map((s) => s.team).filter((t): t is string => t !== null))].sort();
  const roles = [...new Set(props.staff.map((s) => s.role))].sort();
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const a = await api.complianceAssign(props.docId, makeTarget(kind, value), due);
      pushToast('success', `Asked of ${targetLabel(a.target)} by ${formatDate(a.due)}`);
      setValue('');
      props.onAssigned();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };
  const inline = error !== null && error.code === 'invalid' && ['target', 'due', 'staff'].includes(error.field ?? '');
  return (
    <form class="form" onSubmit={save} noValidate data-testid="cp-assign">
      <ErrorBox error={inline ? null : error} testid="cp-assign-error" />
      <div class="form-grid">
        <Field label="Ask" name="target" error={fieldError(error, 'target', 'staff')}>
          {(a) => (
            <div class="row">
              <select class="select" aria-label="Who" data-testid="cp-assign-kind" value={kind} onChange={(e) => { setKind(inputValue(e) as 'role' | 'team' | 'staff'); setValue(''); }}>
                <option value="team">A team</option>
                <option value="role">A role</option>
                <option value="staff">A person</option>
              </select>
              {kind === 'staff' ? (
                <select {...a} class="select spacer" data-testid="cp-assign-value" value={value} onChange={(e) => setValue(inputValue(e))}>
                  <option value="">Choose a person</option>
                  {props.staff.map((s) => (
                    <option key={s.id} value={s.id}>
                      {s.name}
                    </option>
                  ))}
                </select>
              ) : (
                <>
                  <input {...a} class="input spacer" list={`cp-assign-${kind}s`} placeholder={kind === 'team' ? 'e.g. north' : 'e.g. carer'} data-testid="cp-assign-value" value={value} onInput={(e) => setValue(inputValue(e))} />
                  <datalist id={`cp-assign-${kind}s`}>
                    {(kind === 'team' ? teams : roles).map((x) => (
                      <option key={x} value={x} />
                    ))}
                  </datalist>
                </>
              )}
            </div>
          )}
        </Field>
        <Field label="By" name="due" error={fieldError(error, 'due')} hint="YYYY-MM-DD or DD/MM/YYYY">
          {(a) => <input {...a} class="input" placeholder="YYYY-MM-DD" data-testid="cp-assign-due" value={due} onInput={(e) => setDue(inputValue(e))} />}
        </Field>
      </div>
      <div class="form-actions">
        <button type="submit" class="btn" data-testid="cp-assign-save" disabled={busy}>
          Ask to read and sign
        </button>
      </div>
    </form>
  );
}
