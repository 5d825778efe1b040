// One contact: who they are, their policies and payments, what is owed,
// their tasks, the timeline, and what plugins add.

import { useState } from 'preact/hooks';
import * as api from '../api';
import type { ContactDetail, ContactDto, PaymentDto, PolicyDto, TaskDto } from '../bindings';
import { PluginActionButtons, PluginPanelView } from '../components/plugin-ui';
import { HistoryCard } from './contact-history';
import { Badge, EmptyState, ErrorBox, Field, LoadError, Loading, Options, inputValue, words } from '../components/ui';
import { fieldError, toApiError, type ApiError } from '../lib/api-error';
import { ADDRESS_DETAILS } from '../lib/contact-form';
import { formatDate, formatInstant } from '../lib/dates';
import { formatMoney } from '../lib/money';
import { navigate } from '../state/router';
import { EMPTY_META, meta } from '../state/session';
import { pushToast } from '../state/toasts';
import { useLoader } from '../state/use-loader';

export function ContactScreen(props: { id: string }) {
  const detail = useLoader(() => api.contactDetail(props.id), [props.id], { live: true });
  const d = detail.data;
  if (!d) {
    return (
      <div class="page">
        {detail.error ? (
          detail.error.code === 'not_found' ? (
            <EmptyState title="This contact no longer exists">
              <div class="row">
                <a class="btn" href="#/contacts">
                  Back to contacts
                </a>
              </div>
            </EmptyState>
          ) : (
            <LoadError error={detail.error} onRetry={() => void detail.reload()} />
          )
        ) : (
          <Loading />
        )}
      </div>
    );
  }
  const reload = () => void detail.reload();
  return (
    <div class="page">
      <ContactHeader contact={d.contact} detail={d} onChanged={reload} />
      <LoadError error={detail.error} onRetry={reload} />
      <div class="contact-grid">
        <div class="stack">
          <PoliciesCard detail={d} onChanged={reload} />
          <TimelineCard detail={d} onChanged={reload} />
          <HistoryCard contactId={d.contact.id} version={d} />
        </div>
        <div class="stack">
          <section class="card card-tight" aria-label="Arrears">
            <span class="figure-label">Owed today</span>
            <span class={`figure-value${d.arrears_minor > 0 ? ' text-danger' : ''}`} data-testid="arrears-total">
              {formatMoney(d.arrears_minor)}
            </span>
          </section>
          <DetailsCard contact={d.contact} />
          <TasksCard contactId={d.contact.id} tasks={d.tasks} onChanged={reload} />
          {d.panels.map((p) => (
            <PluginPanelView key={`${p.plugin_id}/${p.item_id}`} panel={p} />
          ))}
        </div>
      </div>
    </div>
  );
}

function ContactHeader(props: { contact: ContactDto; detail: ContactDetail; onChanged: () => void }) {
  const c = props.contact;
  return (
    <header class="contact-head">
      <div>
        <div class="small muted">
          <a href="#/contacts">Contacts</a> / {words(c.kind)}
        </div>
        <h1 data-testid="contact-name">{c.display_name}</h1>
        <div class="contact-meta">
          <Badge tone="accent" testid="contact-stage">
            {words(c.stage)}
          </Badge>
          {c.owner && <span>Owner: {c.owner}</span>}
          {c.tags.length > 0 && (
            <span class="tags" data-testid="contact-tags">
              {c.tags.map((t) => (
                <Badge key={t}>{t}</Badge>
              ))}
            </span>
          )}
        </div>
      </div>
      <div class="stack-sm" style={{ alignItems: 'flex-end' }}>
        <div class="row">
          <button type="button" class="btn" data-testid="edit-contact" onClick={() => navigate({ name: 'contact-edit', id: c.id })}>
            Edit
          </button>
        </div>
        <PluginActionButtons actions={props.detail.actions.filter((a) => a.target === 'contact')} record={c.id} onDone={props.onChanged} />
      </div>
    </header>
  );
}

function DetailsCard(props: { contact: ContactDto }) {
  const c = props.contact;
  const specs = (meta.value ?? EMPTY_META).contact_details;
  const address = ADDRESS_DETAILS.map((n) => c.details[n]).filter((x): x is string => Boolean(x));
  const custom = Object.entries(c.custom).filter((e): e is [string, string] => typeof e[1] === 'string');
  const rows: [string, string][] = [];
  if (c.company_name && c.kind !== 'company') rows.push(['Company', c.company_name]);
  if (c.emails.length) rows.push(['Email', c.emails.join(', ')]);
  if (c.phones.length) rows.push(['Phone', c.phones.join(', ')]);
  if (address.length) rows.push(['Address', address.join(', ')]);
  if (c.date_of_birth) rows.push(['Date of birth', formatDate(c.date_of_birth)]);
  // Every other declared detail the contact has, under its declared label.
  for (const d of specs) {
    const v = c.details[d.name];
    if (v && !ADDRESS_DETAILS.includes(d.name)) rows.push([d.label, d.choices.length ? words(v) : v]);
  }
  for (const [k, v] of custom) rows.push([k, v]);
  return (
    <section class="card card-tight" aria-labelledby="details-h" data-testid="contact-details">
      <h3 id="details-h">Details</h3>
      {rows.length === 0 ? (
        <p class="muted">No details yet.</p>
      ) : (
        <dl class="details">
          {rows.map(([k, v]) => [<dt key={`k-${k}`}>{k}</dt>, <dd key={`v-${k}`}>{v}</dd>])}
        </dl>
      )}
    </section>
  );
}

// ---- policies ------------------------------------------------------------

function PoliciesCard(props: { detail: ContactDetail; onChanged: () => void }) {
  const d = props.detail;
  const [adding, setAdding] = useState(false);
  const [paymentFor, setPaymentFor] = useState<string | null>(null);
  return (
    <section class="card" aria-labelledby="policies-h">
      <div class="card-head">
        <h2 id="policies-h">Policies</h2>
        {!adding && (
          <button type="button" class="btn btn-sm" data-testid="add-policy" onClick={() => setAdding(true)}>
            Add policy
          </button>
        )}
      </div>
      {adding && (
        <PolicyFormView
          contactId={d.contact.id}
          onCancel={() => setAdding(false)}
          onSaved={() => {
            setAdding(false);
            props.onChanged();
          }}
        />
      )}
      {d.policies.length === 0 && !adding && <p class="muted">No policies yet. Add one to track premiums and renewals.</p>}
      {d.policies.map((p) => (
        <PolicyItem
          key={p.id}
          policy={p}
          payments={d.payments[p.id] ?? []}
          paymentOpen={paymentFor === p.id}
          onTogglePayment={(open) => setPaymentFor(open ? p.id : null)}
          onChanged={props.onChanged}
        />
      ))}
    </section>
  );
}

type PolicyDraft = { policy_number: string; carrier: string; line_of_business: string; premium: string; frequency: string; effective: string; expiry: string };

function PolicyFormView(props: { contactId: string; onCancel: () => void; onSaved: () => void }) {
  const m = meta.value ?? EMPTY_META;
  const [f, setF] = useState<PolicyDraft>({
    policy_number: '',
    carrier: '',
    line_of_business: '',
    premium: '',
    frequency: m.frequencies.includes('monthly') ? 'monthly' : (m.frequencies[0] ?? ''),
    effective: '',
    expiry: '',
  });
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const inlineFields = ['policy_number', 'carrier', 'line_of_business', 'premium', 'frequency', 'effective', 'expiry'];
  const errFor = (k: string) => fieldError(error, k);
  const boxError = error && !(error.field && inlineFields.includes(error.field)) ? error : null;

  const input = (key: keyof PolicyDraft, label: string, placeholder?: string, hint?: string) => (
    <Field label={label} name={key} error={errFor(key)} hint={hint}>
      {(a) => (
        <input
          {...a}
          class="input"
          placeholder={placeholder}
          data-testid={`policy-${key}`}
          value={f[key]}
          onInput={(e) => setF({ ...f, [key]: inputValue(e) })}
        />
      )}
    </Field>
  );

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const p = await api.policyCreate({ contact_id: props.contactId, currency: '', status: '', ...f });
      pushToast('success', `Policy ${p.policy_number} added`);
      props.onSaved();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card-sub form" onSubmit={save} noValidate aria-label="New policy">
      <ErrorBox error={boxError} />
      <div class="form-grid">
        {input('policy_number', 'Policy number')}
        {input('carrier', 'Insurer')}
        {input('line_of_business', 'Cover', 'e.g. Home, Motor, Life')}
        {input('premium', 'Premium per instalment (£)', '42.50')}
        <Field label="Paid" name="frequency" error={errFor('frequency')}>
          {(a) => (
            <select {...a} class="select" data-testid="policy-frequency" value={f.frequency} onChange={(e) => setF({ ...f, frequency: inputValue(e) })}>
              <Options values={m.frequencies} blank={m.frequencies.length ? undefined : 'Monthly'} />
            </select>
          )}
        </Field>
        {input('effective', 'Starts', 'YYYY-MM-DD')}
        {input('expiry', 'Ends', 'YYYY-MM-DD', 'Leave empty for one year after the start.')}
      </div>
      <div class="form-actions">
        <button type="button" class="btn" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" class="btn btn-primary" data-testid="save-policy" disabled={busy}>
          {busy ? 'Saving…' : 'Save policy'}
        </button>
      </div>
    </form>
  );
}

function statusTone(status: string) {
  return status === 'active' ? 'ok' : status === 'lapsed' || status === 'cancelled' ? 'danger' : 'plain';
}

function PolicyItem(props: {
  policy: PolicyDto;
  payments: PaymentDto[];
  paymentOpen: boolean;
  onTogglePayment: (open: boolean) => void;
  onChanged: () => void;
}) {
  const p = props.policy;
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const outstanding = props.payments.reduce((sum, x) => sum + x.outstanding_minor, 0);

  const schedule = async () => {
    setBusy(true);
    setError(null);
    try {
      const rows = await api.policySchedule(p.id);
      pushToast('success', `${rows.length} instalments scheduled`);
      props.onChanged();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <article class="policy" data-testid="policy-row" data-id={p.id}>
      <div class="policy-head">
        <div>
          <h3>
            {p.line_of_business || 'Policy'} · <span class="mono">{p.policy_number}</span>
          </h3>
          <div class="muted small">
            {p.carrier} · {formatMoney(p.premium_minor, p.currency)} {words(p.payment_frequency).toLowerCase()} · {formatDate(p.effective_date)} to{' '}
            {formatDate(p.expiry_date)}
          </div>
        </div>
        <div class="row">
          <Badge tone={statusTone(p.status)}>{words(p.status)}</Badge>
          {props.payments.length === 0 && (
            <button type="button" class="btn btn-sm" data-testid="schedule-premiums" disabled={busy} onClick={() => void schedule()}>
              {busy ? 'Creating…' : 'Create premium schedule'}
            </button>
          )}
          <button
            type="button"
            class="btn btn-sm btn-primary"
            data-testid="record-payment"
            aria-expanded={props.paymentOpen}
            onClick={() => props.onTogglePayment(!props.paymentOpen)}
          >
            Record payment
          </button>
        </div>
      </div>
      <ErrorBox error={error} />
      {props.paymentOpen && (
        <PaymentFormView
          policyId={p.id}
          suggestion={props.payments.find((x) => x.outstanding_minor > 0)}
          onCancel={() => props.onTogglePayment(false)}
          onSaved={() => {
            props.onTogglePayment(false);
            props.onChanged();
          }}
        />
      )}
      {props.payments.length > 0 && (
        <div class="table-wrap">
          <table class="table">
            <thead>
              <tr>
                <th>Due</th>
                <th class="num">Amount</th>
                <th class="num">Paid</th>
                <th class="num">Outstanding</th>
                <th>Paid on</th>
                <th>Method</th>
              </tr>
            </thead>
            <tbody>
              {props.payments.map((x) => (
                <tr
                  key={x.id}
                  data-testid="payment-row"
                  data-id={x.id}
                  class={x.overdue ? 'overdue' : x.outstanding_minor <= 0 ? 'paid' : ''}
                >
                  <td>
                    {formatDate(x.due_date)} {x.overdue && <Badge tone="danger">Overdue</Badge>}
                  </td>
                  <td class="num">{formatMoney(x.amount_due_minor, p.currency)}</td>
                  <td class="num">{formatMoney(x.amount_paid_minor, p.currency)}</td>
                  <td class="num">{formatMoney(x.outstanding_minor, p.currency)}</td>
                  <td>{x.paid_date ? formatDate(x.paid_date) : ''}</td>
                  <td>
                    {x.method ? words(x.method) : ''}
                    {x.reference && <div class="muted small">{x.reference}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <td colSpan={3}>Outstanding on this policy</td>
                <td class="num">{formatMoney(outstanding, p.currency)}</td>
                <td colSpan={2} />
              </tr>
            </tfoot>
          </table>
        </div>
      )}
    </article>
  );
}

function PaymentFormView(props: { policyId: string; suggestion: PaymentDto | undefined; onCancel: () => void; onSaved: () => void }) {
  const m = meta.value ?? EMPTY_META;
  const [amount, setAmount] = useState('');
  const [method, setMethod] = useState(m.payment_methods[0] ?? '');
  const [date, setDate] = useState('');
  const [reference, setReference] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const inline = ['amount', 'method', 'date', 'reference'];
  const boxError = error && !(error.field && inline.includes(error.field)) ? error : null;

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const p = await api.paymentRecord({ policy_id: props.policyId, amount, method, date, reference });
      pushToast('success', `Payment of ${formatMoney(p.amount_paid_minor)} recorded`);
      props.onSaved();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };

  const hint = props.suggestion ? `Next due: ${formatMoney(props.suggestion.outstanding_minor)} on ${formatDate(props.suggestion.due_date)}` : undefined;

  return (
    <form class="card-sub form" onSubmit={save} noValidate aria-label="Record a payment">
      <ErrorBox error={boxError} />
      <div class="form-grid">
        <Field label="Amount (£)" name="amount" error={fieldError(error, 'amount')} hint={hint}>
          {(a) => <input {...a} class="input" inputMode="decimal" placeholder="42.50" data-testid="payment-amount" value={amount} onInput={(e) => setAmount(inputValue(e))} />}
        </Field>
        <Field label="Method" name="method" error={fieldError(error, 'method')}>
          {(a) => (
            <select {...a} class="select" data-testid="payment-method" value={method} onChange={(e) => setMethod(inputValue(e))}>
              <Options values={m.payment_methods} blank={m.payment_methods.length ? undefined : 'Not given'} />
            </select>
          )}
        </Field>
        <Field label="Date paid" name="date" error={fieldError(error, 'date')} hint="Leave empty for today.">
          {(a) => <input {...a} class="input" placeholder="YYYY-MM-DD" data-testid="payment-date" value={date} onInput={(e) => setDate(inputValue(e))} />}
        </Field>
        <Field label="Reference" name="reference" error={fieldError(error, 'reference')}>
          {(a) => <input {...a} class="input" data-testid="payment-reference" value={reference} onInput={(e) => setReference(inputValue(e))} />}
        </Field>
      </div>
      <div class="form-actions">
        <button type="button" class="btn" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" class="btn btn-primary" data-testid="save-payment" disabled={busy}>
          {busy ? 'Saving…' : 'Record payment'}
        </button>
      </div>
    </form>
  );
}

// ---- tasks ---------------------------------------------------------------

export function TaskLine(props: { task: TaskDto; onChanged: () => void; showContact?: boolean }) {
  const t = props.task;
  const [busy, setBusy] = useState(false);
  const done = t.status === 'done';
  const setStatus = async (status: string) => {
    setBusy(true);
    try {
      await api.taskSetStatus(t.id, status);
      props.onChanged();
    } catch (err) {
      pushToast('error', toApiError(err).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <li class={done ? 'task-done' : ''} data-testid="task-row" data-id={t.id}>
      <div class="spacer">
        <div class="task-title">{t.title}</div>
        <div class="muted small">
          {t.due_date ? `Due ${formatDate(t.due_date)}` : 'No due date'}
          {t.assignee && ` · ${t.assignee}`}
          {props.showContact && t.contact_id && t.contact_name && (
            <>
              {' · '}
              <a href={`#/contacts/${encodeURIComponent(t.contact_id)}`}>{t.contact_name}</a>
            </>
          )}
        </div>
        {t.notes && <div class="small">{t.notes}</div>}
      </div>
      {t.overdue && <Badge tone="danger">Overdue</Badge>}
      {t.status === 'open' ? (
        <button type="button" class="btn btn-sm" data-testid="task-done" disabled={busy} onClick={() => void setStatus('done')}>
          Mark done
        </button>
      ) : (
        <Badge tone={done ? 'ok' : 'plain'}>{words(t.status)}</Badge>
      )}
    </li>
  );
}

export function TaskForm(props: { contactId: string; onSaved: () => void; compact?: boolean }) {
  const [title, setTitle] = useState('');
  const [due, setDue] = useState('');
  const [assignee, setAssignee] = useState('');
  const [notes, setNotes] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.taskCreate({ title, due, contact_id: props.contactId, assignee, notes });
      setTitle('');
      setDue('');
      setNotes('');
      props.onSaved();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };
  const inline = ['title', 'due', 'assignee', 'notes'];
  return (
    <form class="form" onSubmit={save} noValidate aria-label="Add a task">
      <ErrorBox error={error && !(error.field && inline.includes(error.field)) ? error : null} />
      <div class={props.compact ? 'stack-sm' : 'form-grid'}>
        <Field label="Task" name="title" error={fieldError(error, 'title')}>
          {(a) => <input {...a} class="input" placeholder="Call about renewal" data-testid="task-title" value={title} onInput={(e) => setTitle(inputValue(e))} />}
        </Field>
        <Field label="Due" name="due" error={fieldError(error, 'due')}>
          {(a) => <input {...a} class="input" placeholder="YYYY-MM-DD" data-testid="task-due" value={due} onInput={(e) => setDue(inputValue(e))} />}
        </Field>
        {!props.compact && (
          <>
            <Field label="Assignee" name="assignee" error={fieldError(error, 'assignee')}>
              {(a) => <input {...a} class="input" data-testid="task-assignee" value={assignee} onInput={(e) => setAssignee(inputValue(e))} />}
            </Field>
            <Field label="Notes" name="notes" error={fieldError(error, 'notes')}>
              {(a) => <input {...a} class="input" data-testid="task-notes" value={notes} onInput={(e) => setNotes(inputValue(e))} />}
            </Field>
          </>
        )}
      </div>
      <div class="form-actions">
        <button type="submit" class="btn btn-sm btn-primary" data-testid="task-save" disabled={busy}>
          {busy ? 'Adding…' : 'Add task'}
        </button>
      </div>
    </form>
  );
}

function TasksCard(props: { contactId: string; tasks: TaskDto[]; onChanged: () => void }) {
  const [adding, setAdding] = useState(false);
  return (
    <section class="card card-tight" aria-labelledby="tasks-h">
      <div class="card-head">
        <h3 id="tasks-h">Tasks</h3>
        <button type="button" class="btn btn-sm" data-testid="add-task" onClick={() => setAdding(!adding)}>
          {adding ? 'Close' : 'Add task'}
        </button>
      </div>
      {adding && (
        <TaskForm
          contactId={props.contactId}
          compact
          onSaved={() => {
            setAdding(false);
            props.onChanged();
          }}
        />
      )}
      {props.tasks.length === 0 ? (
        <p class="muted">No tasks.</p>
      ) : (
        <ul class="task-list">
          {props.tasks.map((t) => (
            <TaskLine key={t.id} task={t} onChanged={props.onChanged} />
          ))}
        </ul>
      )}
    </section>
  );
}

// ---- timeline ------------------------------------------------------------

function TimelineCard(props: { detail: ContactDetail; onChanged: () => void }) {
  const m = meta.value ?? EMPTY_META;
  const kinds = m.activity_kinds.length ? m.activity_kinds : ['note', 'call', 'email', 'meeting'];
  const [kind, setKind] = useState(kinds.includes('note') ? 'note' : (kinds[0] ?? 'note'));
  const [text, setText] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const save = async (e: Event) => {
    e.preventDefault();
    if (text.trim() === '') {
      setError({ code: 'invalid', message: 'write something first', field: 'text' });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.contactLog(props.detail.contact.id, kind, text);
      setText('');
      props.onChanged();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="timeline-h">
      <h2 id="timeline-h">Timeline</h2>
      <form class="form" onSubmit={save} noValidate aria-label="Log an activity">
        <ErrorBox error={error && error.field !== 'text' ? error : null} />
        <div class="row" style={{ alignItems: 'flex-start' }}>
          <select class="select" style={{ width: 'auto' }} aria-label="Kind" data-testid="log-kind" value={kind} onChange={(e) => setKind(inputValue(e))}>
            <Options values={kinds} />
          </select>
          <div class="spacer">
            <Field label="What happened" name="text" error={fieldError(error, 'text')}>
              {(a) => (
                <textarea
                  {...a}
                  class="textarea"
                  placeholder="Spoke about the home renewal; sending quotes Friday."
                  data-testid="log-text"
                  value={text}
                  onInput={(e) => setText(inputValue(e))}
                />
              )}
            </Field>
          </div>
        </div>
        <div class="form-actions">
          <button type="submit" class="btn btn-primary btn-sm" data-testid="log-save" disabled={busy}>
            {busy ? 'Saving…' : `Log ${kind === 'note' ? 'note' : words(kind).toLowerCase()}`}
          </button>
        </div>
      </form>
      {props.detail.timeline.length === 0 ? (
        <p class="muted">Nothing logged yet.</p>
      ) : (
        <ul class="timeline">
          {props.detail.timeline.map((a) => (
            <li key={a.id} data-testid="timeline-item">
              <span class="timeline-meta">
                {words(a.kind)} · {formatInstant(a.occurred_at)} · {a.actor}
              </span>
              <span class="timeline-body">{a.body}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
