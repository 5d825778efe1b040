// The import wizard: pick a file → check the detected mapping against a
// preview → run (with progress and cancel) → read the report.

import { useEffect, useRef, useState } from 'preact/hooks';
import * as api from '../api';
import type { ImportPreview, ImportProgress, ImportReportDto } from '../bindings';
import { EmptyState, ErrorBox, Field, PageHeader, inputValue } from '../components/ui';
import { toApiError, type ApiError } from '../lib/api-error';
import { CSV_FILTERS, chooseFile, chooseSavePath } from '../lib/dialogs';
import { progressFraction, progressLabel } from '../lib/import-progress';
import { CUSTOM_PROMPT, IGNORE, currentField, customField, mappingOptions, toColumnChoices, type Overrides } from '../lib/import-mapping';
import { EMPTY_META, meta, refreshMeta } from '../state/session';
import { pushToast } from '../state/toasts';

type Step = 'pick' | 'map' | 'running' | 'report';
const STEP_NAMES: Record<Step, string> = { pick: 'Choose a file', map: 'Check the columns', running: 'Import', report: 'Report' };

function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

function delimiterName(d: string): string {
  return d === '\t' ? 'tab' : d === ',' ? 'comma' : d === ';' ? 'semicolon' : d === '|' ? 'pipe' : JSON.stringify(d);
}

export function ImportScreen() {
  const [step, setStep] = useState<Step>('pick');
  const [path, setPath] = useState('');
  const [preview, setPreview] = useState<ImportPreview | null>(null);
  const [overrides, setOverrides] = useState<Overrides>({});
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState<ImportProgress | null>(null);
  const [dryRun, setDryRun] = useState(false);
  const [report, setReport] = useState<ImportReportDto | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const previewSeq = useRef(0);

  const browse = async () => {
    setError(null);
    try {
      const picked = await chooseFile(CSV_FILTERS, 'Choose a file to import');
      if (picked) setPath(picked);
    } catch (e) {
      setError(toApiError(e));
    }
  };

  const loadPreview = async (nextOverrides: Overrides, goTo: Step | null) => {
    const mine = ++previewSeq.current;
    setBusy(true);
    setError(null);
    try {
      const cols = preview?.columns ?? [];
      const p = await api.importPreview(path.trim(), toColumnChoices(cols, nextOverrides));
      if (mine !== previewSeq.current) return;
      setPreview(p);
      if (goTo) setStep(goTo);
    } catch (e) {
      if (mine === previewSeq.current) setError(toApiError(e));
    } finally {
      if (mine === previewSeq.current) setBusy(false);
    }
  };

  const startPreview = (e: Event) => {
    e.preventDefault();
    if (path.trim() === '') {
      setError({ code: 'invalid', message: 'choose a file or type its path', field: 'path' });
      return;
    }
    setOverrides({});
    setPreview(null);
    void loadPreview({}, 'map');
  };

  const changeMapping = (header: string, field: string) => {
    const next = { ...overrides, [header]: field };
    setOverrides(next);
    if (field !== CUSTOM_PROMPT) void loadPreview(next, null);
  };

  const run = async (dry: boolean) => {
    if (!preview) return;
    setDryRun(dry);
    setProgress(null);
    setReport(null);
    setError(null);
    setCancelling(false);
    setStep('running');
    let unlisten: (() => void) | null = null;
    try {
      unlisten = await api.onImportProgress(setProgress);
    } catch {
      // No progress events: the bar stays indeterminate.
    }
    try {
      const r = await api.importRun({ path: preview.path, mappings: toColumnChoices(preview.columns, overrides), dry_run: dry });
      setReport(r);
      setStep('report');
      if (!dry) void refreshMeta();
    } catch (e) {
      const err = toApiError(e);
      setError(err);
      setStep('map');
      if (err.code === 'cancelled') pushToast('info', 'Import cancelled');
    } finally {
      unlisten?.();
    }
  };

  const cancel = async () => {
    setCancelling(true);
    try {
      await api.importCancel();
    } catch (e) {
      setError(toApiError(e));
    }
  };

  const again = () => {
    setStep('pick');
    setPath('');
    setPreview(null);
    setOverrides({});
    setReport(null);
    setError(null);
  };

  return (
    <div class="page">
      <PageHeader title="Import contacts" subtitle="Bring contacts across from a spreadsheet saved as CSV." />
      <ol class="steps" aria-label="Steps">
        {(Object.keys(STEP_NAMES) as Step[]).map((s) => (
          <li key={s} aria-current={s === step ? 'step' : undefined}>
            {STEP_NAMES[s]}
          </li>
        ))}
      </ol>

      {step === 'pick' && (
        <form class="card form" onSubmit={startPreview} noValidate>
          <ErrorBox error={error && error.field !== 'path' ? error : null} />
          <p class="muted">
            Columns such as name, email, phone, postcode and tags are recognised automatically; you can check and change the
            mapping next. Contacts already in your book (same email) are updated, not duplicated.
          </p>
          <Field label="File" name="path" error={error?.field === 'path' ? error.message : null}>
            {(a) => (
              <div class="row">
                <input
                  {...a}
                  class="input spacer"
                  placeholder="/home/you/clients.csv"
                  data-testid="import-path"
                  value={path}
                  onInput={(e) => setPath(inputValue(e))}
                />
                <button type="button" class="btn" data-testid="import-browse" onClick={() => void browse()}>
                  Choose file…
                </button>
              </div>
            )}
          </Field>
          <div class="form-actions">
            <button type="submit" class="btn btn-primary" data-testid="import-preview" disabled={busy}>
              {busy ? 'Reading…' : 'Preview'}
            </button>
          </div>
        </form>
      )}

      {step === 'map' && preview && (
        <MappingStep
          preview={preview}
          overrides={overrides}
          busy={busy}
          error={error}
          onChange={changeMapping}
          onBack={again}
          onRun={(dry) => void run(dry)}
        />
      )}

      {step === 'running' && (
        <section class="card" aria-live="polite">
          <h2>{dryRun ? 'Checking the file…' : 'Importing…'}</h2>
          <ProgressView progress={progress} />
          <div class="form-actions">
            <button type="button" class="btn btn-danger" data-testid="import-cancel" disabled={cancelling} onClick={() => void cancel()}>
              {cancelling ? 'Stopping…' : 'Cancel'}
            </button>
          </div>
        </section>
      )}

      {step === 'report' && report && (
        <ReportView
          report={report}
          onAgain={again}
          onImportNow={report.dry_run ? () => void run(false) : null}
          onBackToMapping={() => setStep('map')}
        />
      )}
    </div>
  );
}

function MappingStep(props: {
  preview: ImportPreview;
  overrides: Overrides;
  busy: boolean;
  error: ApiError | null;
  onChange: (header: string, field: string) => void;
  onBack: () => void;
  onRun: (dry: boolean) => void;
}) {
  const p = props.preview;
  const fields = (meta.value ?? EMPTY_META).import_fields;
  const [customName, setCustomName] = useState('');
  const naming = p.columns.find((c) => props.overrides[c.header] === CUSTOM_PROMPT) ?? null;
  const [customError, setCustomError] = useState<string | null>(null);

  useEffect(() => {
    setCustomName('');
    setCustomError(null);
  }, [naming?.header]);

  const applyCustom = (e: Event) => {
    e.preventDefault();
    if (!naming) return;
    const f = customField(customName);
    if (!f) {
      setCustomError('give the field a name');
      return;
    }
    props.onChange(naming.header, f);
  };

  const mapped = p.columns.filter((c) => currentField(c, props.overrides) !== IGNORE).length;

  return (
    <section class="card">
      <div class="card-head">
        <div>
          <h2>Check the columns</h2>
          <p class="muted small">
            <span class="mono">{p.path}</span> · {formatBytes(p.size)} · {p.encoding} · {delimiterName(p.delimiter)} separated · {mapped} of{' '}
            {p.columns.length} columns imported
          </p>
        </div>
        {props.busy && <span class="muted small">Updating preview…</span>}
      </div>
      <ErrorBox error={props.error} />
      {naming && (
        <form class="card-sub row" onSubmit={applyCustom} aria-label="Name the custom field">
          <Field label={`Custom field name for “${naming.header}”`} name="custom-name" error={customError} class="spacer">
            {(a) => (
              <input {...a} class="input" autofocus data-testid="custom-name" value={customName} onInput={(e) => setCustomName(inputValue(e))} />
            )}
          </Field>
          <button type="submit" class="btn btn-primary" data-testid="custom-apply">
            Use this name
          </button>
          <button type="button" class="btn" onClick={() => props.onChange(naming.header, naming.field ?? IGNORE)}>
            Cancel
          </button>
        </form>
      )}
      <div class="table-wrap">
        <table class="table">
          <thead>
            <tr>
              {p.columns.map((c) => (
                <th key={c.index}>
                  <div class="stack-sm">
                    <span>{c.header || `Column ${c.index + 1}`}</span>
                    <select
                      class="select"
                      aria-label={`Field for column ${c.header}`}
                      data-testid={`map-${c.index}`}
                      value={currentField(c, props.overrides)}
                      onChange={(e) => props.onChange(c.header, inputValue(e))}
                    >
                      {mappingOptions(fields, currentField(c, props.overrides)).map((o) => (
                        <option key={o.value} value={o.value}>
                          {o.label}
                        </option>
                      ))}
                    </select>
                  </div>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {p.sample.map((r, i) => (
              <tr key={i}>
                {p.columns.map((c) => (
                  <td key={c.index} class={currentField(c, props.overrides) === IGNORE ? 'muted' : ''}>
                    {r[c.index] ?? ''}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {p.sample.length === 0 && <p class="muted">The file has a header but no rows.</p>}
      <div class="form-actions">
        <button type="button" class="btn" onClick={props.onBack}>
          Choose another file
        </button>
        <span class="spacer" />
        <button type="button" class="btn" data-testid="import-dry-run" disabled={props.busy || naming !== null} onClick={() => props.onRun(true)}>
          Check only (dry run)
        </button>
        <button type="button" class="btn btn-primary" data-testid="import-run" disabled={props.busy || naming !== null} onClick={() => props.onRun(false)}>
          Import
        </button>
      </div>
    </section>
  );
}

function ProgressView(props: { progress: ImportProgress | null }) {
  const p = props.progress;
  const fraction = progressFraction(p);
  const label = progressLabel(p);
  return (
    <div class="stack-sm">
      {fraction === null ? (
        <progress class="progress" data-testid="import-progress" aria-label="Import progress" />
      ) : (
        <progress class="progress" data-testid="import-progress" aria-label="Import progress" max={1} value={fraction} />
      )}
      <span class="muted small">{label}</span>
    </div>
  );
}

function ReportView(props: { report: ImportReportDto; onAgain: () => void; onImportNow: (() => void) | null; onBackToMapping: () => void }) {
  const r = props.report;
  const [saveError, setSaveError] = useState<ApiError | null>(null);
  const download = async () => {
    setSaveError(null);
    try {
      const path = await chooseSavePath('import-problems.csv', [{ name: 'CSV', extensions: ['csv'] }], 'Save the problems report');
      if (!path) return;
      await api.importReportSave(path);
      pushToast('success', 'Report saved');
    } catch (e) {
      setSaveError(toApiError(e));
    }
  };
  const figures: [string, number, string | null][] = [
    [r.dry_run ? 'Would be created' : 'Created', r.created, 'report-created'],
    [r.dry_run ? 'Would be updated' : 'Updated', r.updated, 'report-updated'],
    ['Unchanged', r.unchanged, 'report-unchanged'],
    ['Skipped', r.skipped, 'report-skipped'],
    ['Blank rows', r.blank, 'report-blank'],
    ['Possible duplicates', r.possible_duplicates, 'report-duplicates'],
  ];
  return (
    <section class="stack">
      {r.dry_run && (
        <div class="alert alert-info">
          <strong>This was a check — nothing was written.</strong>
          {r.skipped > 0 ? 'Fix the problems below in the file, or import anyway: rows with problems are skipped.' : 'No problems found.'}
        </div>
      )}
      {r.cancelled && (
        <div class="alert alert-warn">
          <strong>Import cancelled.</strong>
          Rows imported before you cancelled have been kept.
        </div>
      )}
      <div class="grid-3">
        {figures.map(([label, n, id]) => (
          <div class="card card-tight figure" key={label}>
            <span class="figure-label">{label}</span>
            <span class="figure-value" data-testid={id ?? undefined}>
              {n}
            </span>
          </div>
        ))}
      </div>
      <p class="muted">{r.rows} data rows read.</p>
      <section class="card">
        <div class="card-head">
          <h2>Problems</h2>
          <button type="button" class="btn" data-testid="report-save" onClick={() => void download()}>
            Download report
          </button>
        </div>
        <ErrorBox error={saveError} />
        {r.problems.length === 0 ? (
          <EmptyState title="No problems">Every row could be read.</EmptyState>
        ) : (
          <>
            {r.skipped > r.problems.length && (
              <p class="muted small">
                Showing the first {r.problems.length} of {r.skipped}. The downloaded report has them all.
              </p>
            )}
            <div class="table-wrap">
              <table class="table">
                <thead>
                  <tr>
                    <th class="num">Row</th>
                    <th>Column</th>
                    <th>Problem</th>
                  </tr>
                </thead>
                <tbody>
                  {r.problems.map((p, i) => (
                    <tr key={i} data-testid="problem-row">
                      <td class="num">{p.row}</td>
                      <td>{p.column ?? '—'}</td>
                      <td>{p.reason}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
      </section>
      <div class="form-actions">
        {props.onImportNow && (
          <>
            <button type="button" class="btn" onClick={props.onBackToMapping}>
              Back to the columns
            </button>
            <button type="button" class="btn btn-primary" data-testid="import-now" onClick={props.onImportNow}>
              Import now
            </button>
          </>
        )}
        <button type="button" class="btn" data-testid="import-again" onClick={props.onAgain}>
          Import another file
        </button>
      </div>
    </section>
  );
}
