// The Studio's code editor for power users: main.rhai, manifest.json (as a
// form, or raw) and the plugin's tests in tabs, problems as you type with
// one-click fixes, and a test console that runs an action or a hook on a
// chosen record (a dry run by default: nothing kept, nothing sent; "run
// for real" only when asked) and the plugin's own tests. An error's line
// is marked in the editor.

import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import type { ConsoleResultDto, EditorDiagnosticDto, EditorFixDto, EditorReferenceDto, PluginFileDto, PluginTestDto, SampleRecordDto } from '../bindings';
import { CodeEditor } from '../components/code-editor';
import { ErrorBox, Loading, Modal, inputValue } from '../components/ui';
import { toApiError, type ApiError } from '../lib/api-error';
import { pushToast } from '../state/toasts';
import { ManifestForm } from './studio-manifest-form';

/** `script`, `manifest`, or a test file's name. */
type Tab = string;

type Runnable = { key: string; label: string; action: string | null; event: string | null; onRecord: boolean; kind: string };

/** What the manifest lets the console run: its actions and its hooks. */
function runnablesOf(manifest: string): Runnable[] {
  try {
    const m = JSON.parse(manifest) as { actions?: { id?: unknown; label?: unknown; target?: unknown }[]; hooks?: { event?: unknown }[] };
    const actions = (Array.isArray(m.actions) ? m.actions : [])
      .filter((a) => typeof a.id === 'string')
      .map((a) => ({
        key: `action:${String(a.id)}`,
        label: `Action: ${typeof a.label === 'string' ? a.label : String(a.id)}`,
        action: String(a.id),
        event: null,
        onRecord: a.target === 'contact' || a.target === 'policy',
        kind: String(a.target),
      }));
    const events = [...new Set((Array.isArray(m.hooks) ? m.hooks : []).map((h) => h.event).filter((e): e is string => typeof e === 'string'))];
    const hooks = events.map((e) => ({ key: `hook:${e}`, label: `When ${e.replace('.', ' ')}`, action: null, event: e, onRecord: true, kind: e.split('.')[0] ?? '' }));
    return [...actions, ...hooks];
  } catch {
    return [];
  }
}

/** Where a line of a test run points: the script, or the test file (run appended to the script). */
export function testLine(scriptText: string, line: number): { file: 'script' | 'test'; line: number } {
  const scriptLines = scriptText.split('\n').length;
  return line <= scriptLines ? { file: 'script', line } : { file: 'test', line: line - scriptLines };
}

export function CodeStudio(props: { pluginId: string; onClose: () => void }) {
  const [reference, setReference] = useState<EditorReferenceDto | null>(null);
  const [script, setScript] = useState<string | null>(null);
  const [manifest, setManifest] = useState('');
  const [tests, setTests] = useState<PluginFileDto[]>([]);
  const [tab, setTab] = useState<Tab>('script');
  const [problems, setProblems] = useState<EditorDiagnosticDto[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [errorAt, setErrorAt] = useState<{ tab: Tab; line: number } | null>(null);
  const [rawManifest, setRawManifest] = useState(false);

  useEffect(() => {
    let live = true;
    Promise.all([api.studioReference(), api.studioSource(props.pluginId)]).then(
      ([r, src]) => {
        if (!live) return;
        setReference(r);
        setManifest(src.manifest);
        setScript(src.script);
        setTests(src.tests);
      },
      (e) => live && setError(toApiError(e)),
    );
    return () => {
      live = false;
    };
  }, [props.pluginId]);

  const check = async (text: string): Promise<EditorDiagnosticDto[]> => {
    const found = await api.studioDiagnose(manifest, text);
    setProblems(found);
    return found;
  };

  const applyFix = (fix: EditorFixDto) => {
    if (fix.file === 'manifest') setManifest(fix.text);
    else setScript(fix.text);
    pushToast('info', fix.title);
  };

  const save = async () => {
    if (script === null) return;
    setBusy(true);
    setError(null);
    try {
      const p = await api.studioSaveCode(manifest, script, tests);
      pushToast('success', `${p.name} ${p.version} saved. Switch it on from Plugins when you are ready.`);
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  };

  const addTest = () => {
    let n = tests.length + 1;
    while (tests.some((t) => t.name === `tests/test${n}.rhai`)) n++;
    const name = `tests/test${n}.rhai`;
    setTests([...tests, { name, text: '// Each test_* function runs on a throwaway profile with this plugin installed.\n\nfn test_it_works() {\n    test::assert(true, "it works");\n}\n' }]);
    setTab(name);
  };

  const showError = (at: { tab: Tab; line: number } | null) => {
    setErrorAt(at);
    if (at) setTab(at.tab);
  };

  if (error && script === null) return <ErrorBox error={error} />;
  if (script === null || reference === null) return <Loading />;
  const manifestProblems = problems.filter((p) => p.file === 'manifest');

  return (
    <section class="stack code-studio" aria-labelledby="code-h">
      <div class="row">
        <h1 id="code-h" class="spacer">
          Code editor
        </h1>
        <button type="button" class="btn btn-primary" data-testid="code-save" disabled={busy} onClick={() => void save()}>
          {busy ? 'Saving…' : 'Save as plugin'}
        </button>
        <button type="button" class="btn" onClick={props.onClose}>
          Close
        </button>
      </div>
      <p class="muted small">Saving code made from a wizard automation turns it into a code plugin: the wizard can no longer open it.</p>
      <ErrorBox error={error} />
      <div class="tabs" role="tablist">
        <button type="button" role="tab" class="tab" aria-selected={tab === 'script'} data-testid="code-tab-script" onClick={() => setTab('script')}>
          main.rhai
        </button>
        <button type="button" role="tab" class="tab" aria-selected={tab === 'manifest'} data-testid="code-tab-manifest" onClick={() => setTab('manifest')}>
          manifest.json{manifestProblems.length > 0 ? ` (${manifestProblems.length})` : ''}
        </button>
        {tests.map((t) => (
          <button type="button" role="tab" class="tab" key={t.name} aria-selected={tab === t.name} data-testid={`code-tab-${t.name.replace(/[^a-z0-9]+/gi, '-')}`} onClick={() => setTab(t.name)}>
            {t.name}
          </button>
        ))}
        <button type="button" class="tab" data-testid="code-add-test" onClick={addTest}>
          + Test
        </button>
      </div>
      <div hidden={tab !== 'script'}>
        <CodeEditor
          doc={script}
          language="rhai"
          reference={reference}
          check={check}
          onFix={applyFix}
          onChange={setScript}
          lintKey={manifest}
          errorLine={errorAt?.tab === 'script' ? errorAt.line : null}
          testid="code-script"
        />
      </div>
      <div hidden={tab !== 'manifest'}>
        <div class="stack-sm">
        <div class="row" role="group" aria-label="Edit the manifest as">
          <button type="button" class={`btn btn-sm${rawManifest ? '' : ' btn-primary'}`} aria-pressed={!rawManifest} data-testid="manifest-as-form" onClick={() => setRawManifest(false)}>
            Form
          </button>
          <button type="button" class={`btn btn-sm${rawManifest ? ' btn-primary' : ''}`} aria-pressed={rawManifest} data-testid="manifest-as-json" onClick={() => setRawManifest(true)}>
            Raw JSON
          </button>
        </div>
        {rawManifest ? (
          <CodeEditor doc={manifest} language="json" onChange={setManifest} testid="code-manifest" />
        ) : (
          <ManifestForm manifest={manifest} problems={manifestProblems} onChange={setManifest} reference={reference} />
        )}
        </div>
      </div>
      {tests.map((t) => (
        <div hidden={tab !== t.name} key={t.name}>
          <CodeEditor
            doc={t.text}
            language="rhai"
            reference={reference}
            onChange={(text) => setTests((all) => all.map((x) => (x.name === t.name ? { ...x, text } : x)))}
            errorLine={errorAt?.tab === t.name ? errorAt.line : null}
            testid={`code-test-${t.name.replace(/[^a-z0-9]+/gi, '-')}`}
          />
        </div>
      ))}
      <div class="card stack-sm" data-testid="code-problems">
        <h2>Problems</h2>
        {problems.length === 0 ? (
          <p class="muted small">None found.</p>
        ) : (
          <ul class="dry-list">
            {problems.map((p, i) => (
              <li key={i} data-testid="code-problem">
                {p.file === 'script' ? `main.rhai line ${p.line ?? '?'}: ` : 'manifest.json: '}
                {p.message}{' '}
                {p.fix && (
                  <button type="button" class="btn btn-sm" data-testid="code-fix" onClick={() => p.fix && applyFix(p.fix)}>
                    {p.fix.title}
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
      </div>
      <TestConsole manifest={manifest} script={script} tests={tests} onErrorAt={showError} />
    </section>
  );
}

function TestConsole(props: { manifest: string; script: string; tests: PluginFileDto[]; onErrorAt: (at: { tab: Tab; line: number } | null) => void }) {
  const runnables = runnablesOf(props.manifest);
  const [key, setKey] = useState('');
  const [record, setRecord] = useState('');
  const [records, setRecords] = useState<SampleRecordDto[]>([]);
  const [result, setResult] = useState<ConsoleResultDto | null>(null);
  const [results, setResults] = useState<PluginTestDto[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirmReal, setConfirmReal] = useState(false);
  const chosen = runnables.find((r) => r.key === key) ?? runnables[0];

  // The records of the kind the chosen action or hook works on.
  const kind = chosen?.onRecord ? chosen.kind : '';
  useEffect(() => {
    if (kind === '') return;
    let live = true;
    api.studioRecords(kind).then(
      (r) => {
        if (!live) return;
        setRecords(r);
        setRecord(r[0]?.id ?? '');
      },
      () => live && setRecords([]),
    );
    return () => {
      live = false;
    };
  }, [kind]);

  const run = async (forReal: boolean) => {
    if (!chosen) return;
    setBusy(true);
    setError(null);
    setResult(null);
    setResults(null);
    props.onErrorAt(null);
    try {
      const out = await api.studioConsole({
        manifest: props.manifest,
        script: props.script,
        action: chosen.action,
        event: chosen.event,
        record: chosen.onRecord ? record : null,
        for_real: forReal,
      });
      setResult(out);
      if (out.error_line !== null) props.onErrorAt({ tab: 'script', line: out.error_line });
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  };

  const runTests = async () => {
    setBusy(true);
    setError(null);
    setResult(null);
    props.onErrorAt(null);
    try {
      const out = await api.studioRunTests(props.manifest, props.script, props.tests);
      setResults(out);
      const first = out.find((t) => !t.passed && t.line !== null);
      if (first && first.line !== null) {
        const at = testLine(props.script, first.line);
        const file = first.name.split('::')[0] ?? '';
        props.onErrorAt(at.file === 'script' ? { tab: 'script', line: at.line } : { tab: file, line: at.line });
      }
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  };

  const lines = result ? [...result.output.map((l) => `print: ${l}`), ...result.logs, ...result.requests.map((r) => `would send ${r}`)] : [];

  return (
    <div class="card stack-sm" data-testid="code-console">
      <h2>Test console</h2>
      <p class="muted small">A dry run works on a copy of your records: nothing is kept and nothing is sent. Run for real only when you mean it.</p>
      {runnables.length === 0 ? (
        <p class="muted small">The manifest declares no action or hook to run.</p>
      ) : (
        <div class="row wrap">
          <select class="input" style={{ width: 'auto' }} aria-label="What to run" data-testid="console-action" value={chosen?.key ?? ''} onChange={(e) => setKey(inputValue(e))}>
            {runnables.map((r) => (
              <option key={r.key} value={r.key}>
                {r.label}
              </option>
            ))}
          </select>
          {chosen?.onRecord &&
            (records.length > 0 ? (
              <select class="input" style={{ width: 'auto' }} aria-label={`Which ${kind}`} data-testid="console-record" value={record} onChange={(e) => setRecord(inputValue(e))}>
                {records.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
            ) : (
              <input class="input" style={{ width: '22em' }} aria-label={`The ${kind}'s id`} placeholder={`the ${kind}'s id`} data-testid="console-record-id" value={record} onInput={(e) => setRecord(inputValue(e))} />
            ))}
          <button type="button" class="btn btn-primary btn-sm" data-testid="console-run" disabled={busy} onClick={() => void run(false)}>
            {busy ? 'Running…' : 'Run (dry run)'}
          </button>
          <button type="button" class="btn btn-sm" data-testid="console-run-real" disabled={busy} onClick={() => setConfirmReal(true)}>
            Run for real…
          </button>
        </div>
      )}
      <div class="row">
        <button type="button" class="btn btn-sm" data-testid="console-tests" disabled={busy || props.tests.length === 0} onClick={() => void runTests()}>
          Run its tests ({props.tests.length})
        </button>
      </div>
      <ErrorBox error={error} />
      {result && (
        <div data-testid="console-result">
          {result.ok ? (
            <p class="small">
              {result.for_real ? 'Ran for real: ' : ''}Returned <code>{result.value}</code> in {result.elapsed_ms} ms, {result.operations} operations
              {result.for_real ? `, ${result.writes} records written` : ''}.
            </p>
          ) : (
            <div class="alert" role="alert" data-testid="console-error">
              {result.error}
              {result.error_line !== null && ` (main.rhai line ${result.error_line}, marked in the editor)`}
            </div>
          )}
          {lines.length > 0 && (
            <pre class="console-log" data-testid="console-log">
              {lines.join('\n')}
            </pre>
          )}
        </div>
      )}
      {results && (
        <ul class="dry-list" data-testid="console-test-results">
          {results.map((t) => (
            <li key={t.name} data-testid="console-test">
              <strong>{t.passed ? '✓ passed' : '✗ failed'}</strong> {t.name}
              {t.failure && <div class="small text-danger">{t.failure}</div>}
            </li>
          ))}
        </ul>
      )}
      {confirmReal && chosen && (
        <Modal title="Run it for real?" onClose={() => setConfirmReal(false)} testid="console-real-confirm">
          <p>
            This runs <strong>{chosen.label}</strong> as the code is now, on your real records: what it writes is kept, and requests it makes are really sent. It
            may do what its manifest asks for:
          </p>
          <ul>
            {(() => {
              try {
                const m = JSON.parse(props.manifest) as { permissions?: unknown[] };
                return (m.permissions ?? []).map((p) => <li key={String(p)}>{String(p)}</li>);
              } catch {
                return null;
              }
            })()}
          </ul>
          <div class="form-actions">
            <button type="button" class="btn" onClick={() => setConfirmReal(false)}>
              Cancel
            </button>
            <button
              type="button"
              class="btn btn-danger-solid"
              data-testid="console-real-go"
              onClick={() => {
                setConfirmReal(false);
                void run(true);
              }}
            >
              Run for real
            </button>
          </div>
        </Modal>
      )}
    </div>
  );
}
