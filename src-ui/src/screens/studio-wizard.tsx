// The wizard: what starts it, only if, then; a name and a review; then a
// dry run on your own records (nothing changes, nothing is sent) and the
// switch to turn it on, for new records only or for the matching ones too.

import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import type { DryRunDto, PluginDto, StudioCatalogDto, StudioPreviewDto, StudioProgressDto, StudioSampleDto, SampleRecordDto } from '../bindings';
import { Badge, ErrorBox, Modal, inputValue } from '../components/ui';
import { toApiError, type ApiError } from '../lib/api-error';
import { fieldsFor, newAction, newAutomation, newCondition, serialise, type Action, type Automation } from '../lib/wizard-model';
import { pushToast } from '../state/toasts';
import { ActionRow, ConditionRow } from './studio-rows';

type Step = 'trigger' | 'build' | 'review' | 'tried';

export function Wizard(props: { catalog: StudioCatalogDto; initial: Automation | null; editing: boolean; onClose: () => void }) {
  const cat = props.catalog;
  const [model, setModel] = useState<Automation | null>(props.initial);
  const [step, setStep] = useState<Step>(props.initial ? 'build' : 'trigger');
  const [preview, setPreview] = useState<StudioPreviewDto | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [plugin, setPlugin] = useState<PluginDto | null>(null);
  const [dry, setDry] = useState<DryRunDto | null>(null);
  const [progress, setProgress] = useState<StudioProgressDto | null>(null);
  const [enabling, setEnabling] = useState(false);
  const [samples, setSamples] = useState<SampleRecordDto[]>([]);
  const [sampleId, setSampleId] = useState('');
  const [sample, setSample] = useState<StudioSampleDto[] | null>(null);
  // Until someone names it, the name says what it does.
  const [named, setNamed] = useState(props.initial !== null);

  // Checked as it is built: the sentence, the permissions, what to fix.
  useEffect(() => {
    if (!model) return;
    let live = true;
    const timer = setTimeout(() => {
      api.studioPreview(serialise(model)).then(
        (p) => live && setPreview(p),
        (e) => live && setError(toApiError(e)),
      );
    }, 150);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [model]);

  // Each condition on a sample contact, as it is built.
  useEffect(() => {
    if (!model || sampleId === '' || model.conditions.length === 0) {
      setSample(null);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      api.studioSample(serialise(model), sampleId).then(
        (r) => live && setSample(r),
        () => live && setSample(null),
      );
    }, 200);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [model, sampleId]);

  // The records a sample can be chosen from: of the kind the trigger gives.
  const sampleKind = model ? `${model.trigger.kind}/${model.trigger.kind === 'button' ? String(model.trigger.on) : ''}` : '';
  useEffect(() => {
    if (!model) return;
    let live = true;
    setSampleId('');
    api.studioSampleRecords(serialise(model)).then(
      (r) => live && setSamples(r),
      () => live && setSamples([]),
    );
    return () => {
      live = false;
    };
    // Only a new kind of record changes the list.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sampleKind]);

  useEffect(() => {
    let off: (() => void) | null = null;
    void api.onStudioProgress(setProgress).then((f) => (off = f));
    return () => off?.();
  }, []);

  if (step === 'trigger' || !model) {
    return (
      <section class="stack" aria-labelledby="wizard-h">
        <div class="row">
          <h1 id="wizard-h" class="spacer">
            New automation: what starts it?
          </h1>
          <button type="button" class="btn" onClick={props.onClose}>
            Cancel
          </button>
        </div>
        <div class="template-grid">
          {cat.triggers.map((t) => (
            <button
              type="button"
              key={t.kind}
              class="card card-tight trigger-card"
              data-testid={`trigger-${t.kind}`}
              onClick={() => {
                setModel(newAutomation(t.kind, t.label, t.params));
                setStep('build');
              }}
            >
              <strong>{t.label}</strong>
            </button>
          ))}
        </div>
      </section>
    );
  }

  const m = model;
  const fields = fieldsFor(cat, m.trigger.kind, m.trigger.on);
  const settable = cat.subjects.find((s) => s.subject === 'contact')?.fields.filter((f) => f.settable) ?? [];
  const problems = preview?.problems ?? [];
  const problemAt = (prefix: string) => problems.find((p) => p.field.startsWith(prefix))?.message ?? null;
  const trigger = cat.triggers.find((t) => t.kind === m.trigger.kind);
  const sampleNoun: Record<string, string> = { policy: 'policy', arrears: 'policy in arrears', task: 'overdue task' };
  const noun = sampleNoun[m.trigger.kind === 'button' && m.trigger.on === 'policy' ? 'policy' : (trigger?.subject ?? '')] ?? 'contact';
  const update = (next: Partial<Automation>) => {
    const merged = { ...m, ...next };
    setModel(named ? merged : { ...merged, name: autoName(cat, merged) });
  };
  const actionLabel = (a: Action) => cat.actions.find((x) => x.value === a.kind)?.label ?? a.kind;

  const saveAndTry = async () => {
    setBusy(true);
    setError(null);
    setDry(null);
    try {
      const saved = await api.studioSave(serialise(m), props.editing || plugin !== null);
      setPlugin(saved);
      setStep('tried');
      setProgress(null);
      setDry(await api.studioDryRun(saved.id));
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="stack wizard" aria-labelledby="wizard-h">
      <div class="row">
        <h1 id="wizard-h" class="spacer">
          {props.editing ? `Edit: ${m.name}` : 'New automation'}
        </h1>
        <button type="button" class="btn" onClick={props.onClose}>
          {step === 'tried' ? 'Done' : 'Cancel'}
        </button>
      </div>
      <ol class="wizard-steps" aria-label="Steps">
        <li class={step === 'build' ? 'current' : ''}>When, only if, then</li>
        <li class={step === 'review' ? 'current' : ''}>Name and review</li>
        <li class={step === 'tried' ? 'current' : ''}>Try it and switch it on</li>
      </ol>
      <ErrorBox error={error} />

      {step === 'build' && (
        <>
          <div class="card stack-sm">
            <h2>When</h2>
            <p data-testid="wizard-trigger">{trigger?.label ?? m.trigger.kind}</p>
            <TriggerParams catalog={cat} model={m} onChange={(t) => update({ trigger: t })} />
          </div>
          <div class="card stack-sm">
            <div class="row">
              <h2 class="spacer">Only if</h2>
              <select class="input" style={{ width: "auto" }} aria-label="All or any" value={m.match} onChange={(e) => update({ match: inputValue(e) === 'any' ? 'any' : 'all' })}>
                <option value="all">all of these are true</option>
                <option value="any">any of these is true</option>
              </select>
            </div>
            {m.conditions.length === 0 && <p class="muted small">No conditions: it acts on every record.</p>}
            {m.conditions.length > 0 && samples.length > 0 && (
              <label class="row small">
                <span>Try them on</span>
                <select class="input" style={{ width: 'auto' }} data-testid="wizard-sample" value={sampleId} onChange={(e) => setSampleId(inputValue(e))}>
                  <option value="">{`choose a ${noun}…`}</option>
                  {samples.map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.name}
                    </option>
                  ))}
                </select>
              </label>
            )}
            {m.conditions.map((c, i) => (
              <ConditionRow
                key={i}
                index={i}
                catalog={cat}
                fields={fields}
                condition={c}
                error={problemAt(`conditions[${i}]`)}
                sample={sample?.[i] ?? null}
                onChange={(next) => update({ conditions: m.conditions.map((x, j) => (j === i ? next : x)) })}
                onRemove={() => update({ conditions: m.conditions.filter((_, j) => j !== i) })}
              />
            ))}
            <div>
              <button
                type="button"
                class="btn btn-sm"
                data-testid="add-condition"
                disabled={fields.length === 0}
                onClick={() => fields[0] && update({ conditions: [...m.conditions, newCondition(cat, fields[0])] })}
              >
                Add a condition
              </button>
            </div>
          </div>
          <div class="card stack-sm">
            <h2>Then</h2>
            {m.actions.map((a, i) => (
              <ActionRow
                key={i}
                index={i}
                label={actionLabel(a)}
                stages={cat.stages}
                settable={settable}
                action={a}
                error={problemAt(`actions[${i}]`)}
                onChange={(next) => update({ actions: m.actions.map((x, j) => (j === i ? next : x)) })}
                onRemove={() => update({ actions: m.actions.filter((_, j) => j !== i) })}
              />
            ))}
            <div class="row wrap" role="group" aria-label="Add an action">
              {cat.actions.map((a) => (
                <button type="button" key={a.value} class="btn btn-sm" data-testid={`add-action-${a.value}`} onClick={() => update({ actions: [...m.actions, newAction(a.value)] })}>
                  + {a.label}
                </button>
              ))}
            </div>
          </div>
          <div class="form-actions">
            <button type="button" class="btn btn-primary" data-testid="wizard-review" onClick={() => setStep('review')}>
              Review
            </button>
          </div>
        </>
      )}

      {step === 'review' && (
        <div class="card stack-sm">
          <label class="field">
            <span class="field-label">Name</span>
            <input
              class="input"
              data-testid="wizard-name"
              value={m.name}
              onInput={(e) => {
                setNamed(true);
                setModel({ ...m, name: inputValue(e) });
              }}
            />
          </label>
          <p data-testid="wizard-summary">{preview?.summary}</p>
          <h3>It will be allowed to</h3>
          <ul class="perm-list" data-testid="wizard-permissions">
            {(preview?.permissions ?? []).map((p) => (
              <li key={p.permission}>{p.description}</li>
            ))}
          </ul>
          {problems.length > 0 && (
            <div class="alert" role="alert" data-testid="wizard-problems">
              <strong>Fix these first</strong>
              <ul>
                {problems.map((p) => (
                  <li key={p.field + p.message}>{p.message}</li>
                ))}
              </ul>
            </div>
          )}
          <div class="form-actions">
            <button type="button" class="btn" onClick={() => setStep('build')}>
              Back
            </button>
            <button type="button" class="btn btn-primary" data-testid="wizard-save" disabled={busy || problems.length > 0 || !preview} onClick={() => void saveAndTry()}>
              {busy ? 'Saving…' : 'Save and try it'}
            </button>
          </div>
        </div>
      )}

      {step === 'tried' && (
        <>
          {!dry && (
            <div class="card stack-sm" role="status">
              <p>
                Trying it on your records{progress && progress.total > 0 ? `: ${progress.done} of ${progress.total}` : '…'} Nothing is changed and nothing is sent.
              </p>
              {busy && (
                <button type="button" class="btn btn-sm" onClick={() => void api.studioCancel()}>
                  Stop
                </button>
              )}
            </div>
          )}
          {dry && <DryRunView dry={dry} />}
          <div class="form-actions">
            <button type="button" class="btn" onClick={() => setStep('build')}>
              Change it
            </button>
            {plugin && dry && !plugin.enabled && (
              <button type="button" class="btn btn-primary" data-testid="studio-enable" onClick={() => setEnabling(true)}>
                Switch it on…
              </button>
            )}
            {plugin?.enabled && <Badge tone="ok" testid="studio-enabled">On</Badge>}
          </div>
        </>
      )}
      {enabling && plugin && (
        <EnableDialog
          plugin={plugin}
          matching={dry?.would_change ?? 0}
          noun={dry?.table ?? 'records'}
          onClose={() => setEnabling(false)}
          onDone={(p) => {
            setEnabling(false);
            setPlugin(p);
          }}
        />
      )}
    </section>
  );
}

/** A name that says what an automation does, until someone names it. */
function autoName(cat: StudioCatalogDto, m: Automation): string {
  const when = cat.triggers.find((t) => t.kind === m.trigger.kind)?.label ?? m.trigger.kind;
  const acts = m.actions.map((a) => (cat.actions.find((x) => x.value === a.kind)?.label ?? a.kind).toLowerCase());
  const name = acts.length > 0 ? `${when}: ${acts.join(', ')}` : when;
  return name.length > 80 ? `${name.slice(0, 79)}…` : name;
}

/** `contacts` → `contact` when there is one. */
function counted(n: number, noun: string): string {
  const one: Record<string, string> = { contacts: 'contact', policies: 'policy', payments: 'payment', tasks: 'task', activities: 'timeline entry', records: 'record' };
  return `${n} ${n === 1 ? (one[noun] ?? noun) : noun}`;
}

function TriggerParams(props: { catalog: StudioCatalogDto; model: Automation; onChange: (t: Automation['trigger']) => void }) {
  const t = props.model.trigger;
  const set = (k: keyof Automation['trigger'], v: string | number) => props.onChange({ ...t, [k]: v });
  return (
    <div class="row wrap">
      {t.stage !== undefined && (
        <select class="input" aria-label="Stage" value={t.stage} onChange={(e) => set('stage', inputValue(e))}>
          {props.catalog.stages.map((s) => (
            <option key={s} value={s}>
              moves to {s}
            </option>
          ))}
        </select>
      )}
      {t.days !== undefined && (
        <label class="row">
          <input class="input input-short" type="number" min={0} value={t.days} onInput={(e) => set('days', Number(inputValue(e)))} />
          <span>days</span>
        </label>
      )}
      {t.every !== undefined && (
        <select class="input" aria-label="How often" value={t.every} onChange={(e) => set('every', inputValue(e))}>
          {props.catalog.every.map((x) => (
            <option key={x.value} value={x.value}>
              {x.label}
            </option>
          ))}
        </select>
      )}
      {t.at !== undefined && <input class="input input-short" type="time" aria-label="At" value={t.at} onInput={(e) => set('at', inputValue(e))} />}
      {t.on !== undefined && (
        <select class="input" aria-label="On" value={t.on} onChange={(e) => set('on', inputValue(e))}>
          <option value="contact">on a contact</option>
          <option value="policy">on a policy</option>
        </select>
      )}
      {t.label !== undefined && <input class="input" aria-label="Button label" value={t.label} onInput={(e) => set('label', inputValue(e))} />}
    </div>
  );
}

/** The fields of a record a run would make that say what it is. */
const SHOWN_NEW = ['title', 'due_date', 'assignee', 'body', 'kind', 'first_name', 'last_name', 'company_name'];

export function DryRunView(props: { dry: DryRunDto }) {
  const d = props.dry;
  const changed = d.results.filter((r) => r.outcome === 'changed' || r.outcome === 'failed');
  const skipped = d.results.filter((r) => r.outcome === 'skipped');
  const noun = d.table ?? 'runs';
  return (
    <div class="card stack-sm" data-testid="dry-run">
      <h2 data-testid="dry-run-headline">
        {d.table ? `Would change ${d.would_change} of ${counted(d.considered, noun)}` : d.would_change > 0 ? 'Would make changes' : 'Would change nothing'}
      </h2>
      <p class="muted small">
        Tried {d.trigger}, on a copy: nothing was changed and nothing was sent. {d.skipped} skipped, {d.failed} failed
        {d.cancelled ? ', stopped before the end' : ''}.
      </p>
      {changed.length > 0 && (
        <ul class="dry-list" data-testid="dry-run-changed">
          {changed.map((r) => (
            <li key={r.record ?? 'run'} data-testid="dry-changed">
              <strong>{r.name ?? r.record ?? 'The run'}</strong>
              {r.outcome === 'failed' && <span class="text-danger"> failed: {r.reason}</span>}
              <ul>
                {r.changes.map((c, i) => (
                  <li key={i}>
                    {c.action === 'created' ? `New ${c.what}: ` : `${c.what[0]?.toUpperCase() ?? ''}${c.what.slice(1)}: `}
                    {c.fields
                      .filter((f) => c.action !== 'created' || SHOWN_NEW.includes(f.field))
                      .map((f) => (c.action === 'created' ? `${f.label} ${f.after}` : `${f.label} ${f.before || '(empty)'} → ${f.after || '(empty)'}`))
                      .join('; ')}
                  </li>
                ))}
                {r.requests.map((q, i) => (
                  <li key={`q${i}`}>
                    Would send {q.method} {q.url}
                  </li>
                ))}
                {r.notifications.map((n, i) => (
                  <li key={`n${i}`}>Would show “{n}”</li>
                ))}
              </ul>
            </li>
          ))}
        </ul>
      )}
      {skipped.length > 0 && (
        <details data-testid="dry-run-skipped">
          <summary>Skipped ({d.skipped}) and why</summary>
          <ul class="dry-list">
            {skipped.map((r) => (
              <li key={r.record ?? 'run'} data-testid="dry-skipped">
                <strong>{r.name ?? r.record}</strong>: {r.reason}
              </li>
            ))}
          </ul>
        </details>
      )}
      {d.truncated && <p class="muted small">The first thousand records are listed.</p>}
    </div>
  );
}

function EnableDialog(props: { plugin: PluginDto; matching: number; noun: string; onClose: () => void; onDone: (p: PluginDto) => void }) {
  const p = props.plugin;
  const [apply, setApply] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const hooked = p.hooks.length > 0;
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await api.studioEnable(
        p.id,
        p.permissions.map((x) => x.permission),
        apply && hooked,
      );
      pushToast('success', r.applied > 0 ? `${p.name} is on, and was applied to ${r.applied} ${props.noun}` : `${p.name} is on`);
      props.onDone(r.plugin);
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={`Switch on ${p.name}?`} onClose={props.onClose} testid="studio-enable-dialog">
      <p>Made here in the Studio. It will be allowed to:</p>
      <ul class="perm-list">
        {p.permissions.map((x) => (
          <li key={x.permission} data-testid="permission">
            {x.description}
          </li>
        ))}
      </ul>
      {hooked && (
        <div class="stack-sm" role="radiogroup" aria-label="Existing records">
          <label class="check">
            <input type="radio" name="apply" checked={!apply} onChange={() => setApply(false)} />
            <span>Only from now on</span>
          </label>
          <label class="check">
            <input type="radio" name="apply" data-testid="apply-existing" checked={apply} onChange={() => setApply(true)} />
            <span>
              Also apply it now to the {counted(props.matching, props.noun)} that {props.matching === 1 ? 'matches' : 'match'}
            </span>
          </label>
        </div>
      )}
      <ErrorBox error={error} />
      <div class="form-actions">
        <button type="button" class="btn" onClick={props.onClose}>
          Cancel
        </button>
        <button type="button" class="btn btn-primary" data-testid="studio-confirm-enable" disabled={busy} onClick={() => void confirm()}>
          {busy ? 'Switching on…' : 'Switch it on'}
        </button>
      </div>
    </Modal>
  );
}
