// The Compliance area's overview: what needs doing (reviews due and
// overdue, versions waiting for a second admin, approved ones not yet
// published, quality statements with no current evidence, by key
// question), my reading, reminders made into tasks (admins and managers)
// and the inspector's evidence pack (admins).

import { useEffect, useRef, useState } from 'preact/hooks';
import * as api from '../api';
import type { ComplianceDashboardDto, ComplianceMetaDto, CompliancePolicyDto, PackDto, ReminderDto } from '../bindings';
import { ComplianceTabs, PDF_FILTERS, PathField, StandingBadge } from '../components/compliance';
import { ErrorBox, Field, Figure, LoadError, Loading, PageHeader, inputValue } from '../components/ui';
import { fieldError, toApiError, type ApiError } from '../lib/api-error';
import { groupStatements, percentLabel, STANDING_LABEL } from '../lib/compliance';
import { formatDate } from '../lib/dates';
import { routeHref } from '../lib/route';
import { testId } from '../lib/testid';
import { complianceMetaError, useComplianceMeta } from '../state/compliance';
import { pushToast } from '../state/toasts';
import { useLoader } from '../state/use-loader';

export function ComplianceScreen() {
  const meta = useComplianceMeta();
  const dash = useLoader(() => api.complianceDashboard(), [], { live: true });
  const mine = useLoader(() => api.complianceMine(), [], { live: true });
  const access = meta?.access ?? null;
  const d = dash.data;
  const todo = (mine.data ?? []).filter((r) => r.state !== 'done');
  return (
    <div class="page">
      <PageHeader title="Compliance" subtitle="Staff records, training, policies and what an inspector will ask for." />
      <ComplianceTabs current="compliance" access={access} />
      <LoadError error={complianceMetaError.value} />
      <LoadError error={dash.error} onRetry={() => void dash.reload()} />
      {!d && !dash.error && <Loading />}
      {d && meta && (
        <>
          <div class="grid-3">
            <Figure label="My reading" value={todo.length} href={routeHref({ name: 'compliance-reading' })} testid="cx-my-reading" hint={todo.some((r) => r.state === 'overdue') ? 'Some are overdue' : 'Policies to read and sign'} />
            <Figure label="Reviews overdue" value={d.overdue.length} href={routeHref({ name: 'compliance-policies' })} testid="cx-overdue" />
            <Figure label="Reviews due within 60 days" value={d.due_for_review.length} href={routeHref({ name: 'compliance-policies' })} testid="cx-due" />
            <Figure label="Awaiting approval" value={d.awaiting_approval.length} href={routeHref({ name: 'compliance-policies' })} testid="cx-awaiting" />
            <Figure label="Approved, not published" value={d.approved.length} href={routeHref({ name: 'compliance-policies' })} testid="cx-approved" />
            <Figure label="Quality statements without current evidence" value={`${d.uncovered.length} of ${d.coverage.length}`} testid="cx-uncovered" />
          </div>
          <PolicyLists dash={d} />
          {(access?.admin || access?.manager) && <Reminders />}
          {access?.admin && <EvidencePack />}
          <Uncovered dash={d} meta={meta} />
        </>
      )}
    </div>
  );
}

function PolicyList(props: { title: string; policies: CompliancePolicyDto[]; testid: string; date?: boolean }) {
  if (props.policies.length === 0) return null;
  return (
    <div class="stack-sm" data-testid={props.testid}>
      <h3>{props.title}</h3>
      <ul class="plain-list">
        {props.policies.map((p) => (
          <li key={p.doc_id}>
            <a href={routeHref({ name: 'compliance-policy', id: p.doc_id })}>{p.title}</a>
            <span class="muted">
              {' '}
              · {p.kind === 'sop' ? 'SOP' : 'Policy'} · owner {p.owner}
              {props.date ? ` · review by ${formatDate(p.next_review)}` : ''}
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function PolicyLists(props: { dash: ComplianceDashboardDto }) {
  const d = props.dash;
  const none = d.overdue.length + d.due_for_review.length + d.awaiting_approval.length + d.approved.length === 0;
  return (
    <section class="card stack">
      <div class="card-head">
        <h2>Policies that need something</h2>
        <a class="btn btn-sm" href={routeHref({ name: 'compliance-policies' })}>
          All policies
        </a>
      </div>
      {none ? (
        <p class="muted" data-testid="cx-policies-none">
          Nothing is waiting: no review due within 60 days, nothing to approve or publish.
        </p>
      ) : (
        <>
          <PolicyList title="Review overdue" policies={d.overdue} testid="cx-list-overdue" date />
          <PolicyList title="Review due within 60 days" policies={d.due_for_review} testid="cx-list-due" date />
          <PolicyList title="Awaiting approval by a second admin" policies={d.awaiting_approval} testid="cx-list-awaiting" />
          <PolicyList title="Approved, not yet published" policies={d.approved} testid="cx-list-approved" />
        </>
      )}
    </section>
  );
}

function Uncovered(props: { dash: ComplianceDashboardDto; meta: ComplianceMetaDto }) {
  const groups = groupStatements(props.meta.key_questions, props.dash.uncovered);
  return (
    <section class="card stack" data-testid="cx-uncovered-list">
      <h2>Quality statements without current evidence</h2>
      <p class="muted">A statement counts as evidenced by a published policy linked to it whose review is not overdue.</p>
      {groups.length === 0 ? (
        <p>Every quality statement has a policy in force.</p>
      ) : (
        <div class="kq-grid">
          {groups.map((g) => (
            <div key={g.id} class="stack-sm" data-testid={testId('cx-kq', g.id)}>
              <h3>
                {g.name} <span class="muted small">({g.statements.length})</span>
              </h3>
              <ul class="plain-list small">
                {g.statements.map((s) => (
                  <li key={s.id}>
                    <strong>{s.id}</strong> {s.name}
                  </li>
                ))}
              </ul>
            </div>
          ))}
        </div>
      )}
    </section>
  );
}

function Reminders() {
  const [made, setMade] = useState<ReminderDto[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await api.complianceRemind();
      setMade(r);
      pushToast('success', r.length === 0 ? 'No reminders were due' : `${r.length} ${r.length === 1 ? 'reminder' : 'reminders'} made into tasks`);
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card stack" data-testid="cx-reminders">
      <div class="card-head">
        <h2>Reminders</h2>
        <button type="button" class="btn" data-testid="cx-remind" disabled={busy} onClick={() => void run()}>
          {busy ? 'Making…' : 'Make reminders now'}
        </button>
      </div>
      <p class="muted">Read-and-sign due within a week or overdue, training lapsing within 60 days, policy reviews coming up: each becomes a task once.</p>
      <ErrorBox error={error} />
      {made && made.length === 0 && <p data-testid="cx-reminders-none">No new reminders were due.</p>}
      {made && made.length > 0 && (
        <table class="table" data-testid="cx-reminders-made">
          <thead>
            <tr>
              <th>Task</th>
              <th>Due</th>
            </tr>
          </thead>
          <tbody>
            {made.map((r) => (
              <tr key={r.task_id}>
                <td>{r.title}</td>
                <td>{formatDate(r.due)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {made && made.length > 0 && (
        <a href="#/tasks" class="small">
          See them in Tasks
        </a>
      )}
    </section>
  );
}

function EvidencePack() {
  const [path, setPath] = useState('');
  const [organisation, setOrganisation] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [pack, setPack] = useState<PackDto | null>(null);
  const make = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const p = await api.compliancePack(path, organisation);
      setPack(p);
      pushToast('success', 'Evidence pack saved');
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card stack" data-testid="cx-pack">
      <h2>Evidence pack for an inspection</h2>
      <p class="muted">
        A PDF arranged by the CQC’s key questions, with a CSV of the same figures beside it: policies in force, read-and-sign, training, DBS and right to work
        (numbers by their last four characters only), supervision, and the gaps. Made from this computer’s records, offline.
      </p>
      <form class="form" onSubmit={make} noValidate>
        <ErrorBox error={error && fieldError(error, 'path') === null ? error : null} />
        <div class="form-grid">
          <Field label="Organisation’s name on the cover" name="organisation">
            {(a) => <input {...a} class="input" placeholder="our service" data-testid="cx-pack-org" value={organisation} onInput={(e) => setOrganisation(inputValue(e))} />}
          </Field>
          <PathField
            label="Save the PDF as"
            name="path"
            value={path}
            onChange={setPath}
            error={fieldError(error, 'path')}
            testid="cx-pack-path"
            mode="save"
            filters={PDF_FILTERS}
            dialogTitle="Save the evidence pack"
            defaultName="evidence-pack.pdf"
            onDialogError={setError}
          />
        </div>
        <div class="form-actions">
          <button type="submit" class="btn btn-primary" data-testid="cx-pack-make" disabled={busy}>
            {busy ? 'Making the pack…' : 'Make the evidence pack'}
          </button>
        </div>
      </form>
      {pack && <PackResult pack={pack} />}
    </section>
  );
}

function PackResult(props: { pack: PackDto }) {
  const p = props.pack;
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.scrollIntoView({ block: 'start' });
  }, [p]);
  return (
    <div class="stack" data-testid="cx-pack-result" ref={ref}>
      <p class="muted small" data-testid="cx-pack-files">
        Saved {p.pdf} and {p.csv}
      </p>
      <div class="grid-3">
        <Figure label="Staff in post" value={p.staff} testid="cx-pack-staff" />
        <Figure label="Training in date" value={percentLabel(p.training_percent)} testid="cx-pack-training" />
        <Figure label="Read-and-sign" value={percentLabel(p.ack_percent)} testid="cx-pack-ack" />
        <Figure label="Supervision in date" value={percentLabel(p.supervision_percent)} testid="cx-pack-supervision" />
        <Figure
          label="Quality statements evidenced"
          value={`${p.key_questions.reduce((n, k) => n + k.evidenced, 0)} of ${p.key_questions.reduce((n, k) => n + k.statements, 0)}`}
          testid="cx-pack-statements"
        />
        <Figure label="Gaps" value={p.gaps.length} testid="cx-pack-gap-count" />
      </div>
      {p.vetting.length > 0 && (
        <table class="table" data-testid="cx-pack-vetting">
          <thead>
            <tr>
              <th>Name</th>
              <th>DBS</th>
              <th>Right to work</th>
            </tr>
          </thead>
          <tbody>
            {p.vetting.map((v, i) => (
              <tr key={`${v.name}-${i}`}>
                <td>
                  {v.name}
                  <div class="muted small">{v.role}</div>
                </td>
                <td>
                  <StandingBadge standing={v.dbs_standing} /> <span class="small">{v.dbs}</span>
                </td>
                <td>
                  <StandingBadge standing={v.rtw_standing} /> <span class="small">{v.right_to_work}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div class="stack-sm">
        <h3>Gaps</h3>
        {p.gaps.length === 0 ? (
          <p>None found.</p>
        ) : (
          <ul class="gap-list small" data-testid="cx-pack-gaps">
            {p.gaps.map((g, i) => (
              <li key={i}>{g}</li>
            ))}
          </ul>
        )}
      </div>
      {p.training.length > 0 && (
        <details>
          <summary>Training per course</summary>
          <table class="table">
            <thead>
              <tr>
                <th>Course</th>
                <th class="num">{STANDING_LABEL.valid}</th>
                <th class="num">{STANDING_LABEL.due_soon}</th>
                <th class="num">{STANDING_LABEL.expired}</th>
                <th class="num">{STANDING_LABEL.missing}</th>
                <th class="num">In date</th>
              </tr>
            </thead>
            <tbody>
              {p.training.map((c) => (
                <tr key={c.course}>
                  <td>{c.course}</td>
                  <td class="num">{c.valid}</td>
                  <td class="num">{c.due_soon}</td>
                  <td class="num">{c.expired}</td>
                  <td class="num">{c.missing}</td>
                  <td class="num">{percentLabel(c.percent)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </div>
  );
}
