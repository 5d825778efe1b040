// Policies and SOPs: library documents under document control, with their
// approval step, review and owner; admins make a document of the library
// a policy here (kind, owner, review cycle, the quality statements it
// evidences, picked under their key question).

import { useState } from 'preact/hooks';
import * as api from '../api';
import type { ComplianceMetaDto, CompliancePolicyDto, CompliancePolicyForm } from '../bindings';
import { ComplianceTabs, StandingBadge } from '../components/compliance';
import { Badge, EmptyState, ErrorBox, Field, LoadError, Loading, PageHeader, inputValue } from '../components/ui';
import { fieldError, toApiError, type ApiError } from '../lib/api-error';
import { APPROVAL_LABEL, APPROVAL_TONE, groupStatements, REVIEW_LABEL, toggleStatement } from '../lib/compliance';
import { formatDate } from '../lib/dates';
import { routeHref } from '../lib/route';
import { testId } from '../lib/testid';
import { useComplianceMeta } from '../state/compliance';
import { navigate } from '../state/router';
import { pushToast } from '../state/toasts';
import { useLoader } from '../state/use-loader';

export function PoliciesComplianceScreen() {
  const meta = useComplianceMeta();
  const list = useLoader(() => api.compliancePolicies(), [], { live: true });
  const [adding, setAdding] = useState(false);
  const admin = meta?.access.admin ?? false;
  return (
    <div class="page">
      <PageHeader title="Policies and SOPs" subtitle="Approved by a second admin before they are published; reviewed on a cycle; read and signed by the people they concern.">
        {admin && (
          <button type="button" class="btn btn-primary" data-testid="cp-add-open" onClick={() => setAdding(!adding)}>
            {adding ? 'Close' : 'Make a document a policy'}
          </button>
        )}
      </PageHeader>
      <ComplianceTabs current="compliance-policies" access={meta?.access ?? null} />
      {adding && meta && <RegisterForm meta={meta} policies={list.data ?? []} />}
      <LoadError error={list.error} onRetry={() => void list.reload()} />
      {!list.data && !list.error && <Loading />}
      {list.data && list.data.length === 0 && (
        <EmptyState title="No policies yet" testid="cp-empty">
          {admin ? 'Add the document in Documents, then make it a policy here.' : 'Your organisation has not shared any policy with you yet.'}
        </EmptyState>
      )}
      {list.data && list.data.length > 0 && (
        <div class="card">
          <table class="table" data-testid="cp-table">
            <thead>
              <tr>
                <th>Title</th>
                <th>Approval</th>
                <th>Review</th>
                <th>Owner</th>
                <th>Statements</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((p) => (
                <tr key={p.doc_id} data-testid={testId('cp-row', p.doc_id)}>
                  <td>
                    <a href={routeHref({ name: 'compliance-policy', id: p.doc_id })} data-testid={testId('cp-open', p.doc_id)}>
                      {p.title}
                    </a>
                    <div class="muted small">
                      {p.kind === 'sop' ? 'SOP' : 'Policy'}
                      {p.status === 'published' && p.live_version !== null ? ` · v${p.live_version} in force` : ''}
                    </div>
                  </td>
                  <td>
                    <Badge tone={APPROVAL_TONE[p.approval] ?? 'plain'}>{APPROVAL_LABEL[p.approval] ?? p.approval}</Badge>
                  </td>
                  <td>
                    <StandingBadge standing={p.review} label={REVIEW_LABEL[p.review]} />
                    <div class="muted small">by {formatDate(p.next_review)}</div>
                  </td>
                  <td>{p.owner}</td>
                  <td class="small">{p.statements.join(', ') || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/** The quality statements, ticked under their key question. */
export function StatementsPicker(props: { meta: ComplianceMetaDto; value: string[]; onChange: (v: string[]) => void; error: string | null }) {
  const groups = groupStatements(props.meta.key_questions, props.meta.statements);
  return (
    <fieldset class="statements" data-testid="cp-statements">
      <legend class="field-label">Quality statements it evidences ({props.value.length} chosen)</legend>
      <div class="kq-grid">
        {groups.map((g) => (
          <div key={g.id} class="stack-sm">
            <strong>{g.name}</strong>
            {g.statements.map((s) => (
              <label key={s.id} class="check small">
                <input
                  type="checkbox"
                  data-testid={testId('cp-stmt', s.id)}
                  checked={props.value.includes(s.id)}
                  onChange={() => props.onChange(toggleStatement(props.value, s.id, props.meta.statements))}
                />
                <span>
                  <strong>{s.id}</strong> {s.name}
                </span>
              </label>
            ))}
          </div>
        ))}
      </div>
      {props.error && (
        <span class="field-error" data-testid="error-statements">
          {props.error}
        </span>
      )}
    </fieldset>
  );
}

/** Kind, owner, review months and statements: the same inputs to make a policy and to change one. */
export function PolicyFields(props: { meta: ComplianceMetaDto; form: CompliancePolicyForm; onChange: (f: CompliancePolicyForm) => void; error: ApiError | null }) {
  const f = props.form;
  return (
    <>
      <div class="form-grid">
        <Field label="Kind" name="kind" error={fieldError(props.error, 'kind')}>
          {(a) => (
            <select {...a} class="select" data-testid="cp-kind" value={f.kind} onChange={(e) => props.onChange({ ...f, kind: inputValue(e) })}>
              {props.meta.policy_kinds.map((k) => (
                <option key={k} value={k}>
                  {k === 'sop' ? 'SOP (standard operating procedure)' : 'Policy'}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Owner" name="owner" error={fieldError(props.error, 'owner')} hint="Who answers for it, e.g. Registered manager.">
          {(a) => <input {...a} class="input" data-testid="cp-owner" value={f.owner} onInput={(e) => props.onChange({ ...f, owner: inputValue(e) })} />}
        </Field>
        <Field label="Review every (months)" name="review_months" error={fieldError(props.error, 'review_months')} hint="12 is usual.">
          {(a) => <input {...a} class="input" inputMode="numeric" data-testid="cp-review-months" value={f.review_months} onInput={(e) => props.onChange({ ...f, review_months: inputValue(e) })} />}
        </Field>
      </div>
      <StatementsPicker meta={props.meta} value={f.statements} onChange={(statements) => props.onChange({ ...f, statements })} error={fieldError(props.error, 'statements')} />
    </>
  );
}

export const POLICY_FIELDS = ['kind', 'owner', 'review_months', 'statements'];

function RegisterForm(props: { meta: ComplianceMetaDto; policies: CompliancePolicyDto[] }) {
  const docs = useLoader(() => api.docsList({ text: null, status: null, offset: 0, limit: 200 }), []);
  const [docId, setDocId] = useState('');
  const [form, setForm] = useState<CompliancePolicyForm>({ kind: 'policy', owner: '', review_months: '12', statements: [] });
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const taken = new Set(props.policies.map((p) => p.doc_id));
  const choices = (docs.data?.documents ?? []).filter((d) => !taken.has(d.id) && d.status !== 'retired');
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const p = await api.compliancePolicyRegister(docId, form);
      pushToast('success', `${p.title} is now under document control`);
      navigate({ name: 'compliance-policy', id: p.doc_id });
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };
  const inline = error !== null && error.code === 'invalid' && [...POLICY_FIELDS, 'doc_id'].includes(error.field ?? '');
  return (
    <form class="card form" onSubmit={save} noValidate data-testid="cp-register">
      <h2>Make a document a policy</h2>
      <p class="muted">It comes under document control: new versions wait as drafts, and publishing needs the approval of a second admin.</p>
      <ErrorBox error={inline ? null : error} testid="cp-register-error" />
      <LoadError error={docs.error} onRetry={() => void docs.reload()} />
      <Field label="Document of the library" name="doc_id" error={fieldError(error, 'doc_id')} hint={choices.length === 0 && docs.data ? 'Every document is a policy already: add one in Documents first.' : undefined}>
        {(a) => (
          <select {...a} class="select" data-testid="cp-doc" value={docId} onChange={(e) => setDocId(inputValue(e))}>
            <option value="">Choose a document</option>
            {choices.map((d) => (
              <option key={d.id} value={d.id}>
                {d.title} ({d.file_name})
              </option>
            ))}
          </select>
        )}
      </Field>
      <PolicyFields meta={props.meta} form={form} onChange={setForm} error={error} />
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" data-testid="cp-register-save" disabled={busy}>
          {busy ? 'Saving…' : 'Make it a policy'}
        </button>
      </div>
    </form>
  );
}
