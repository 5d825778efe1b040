// The Studio's code editor for power users: main.rhai and manifest.json
// side by side in tabs, problems as you type with one-click fixes, and a
// test console that runs an action on a chosen contact as a dry run
// (nothing kept, nothing sent) before anything is saved.

import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import type { ConsoleResultDto, ContactRow, EditorDiagnosticDto, EditorFixDto, EditorReferenceDto } from '../bindings';
import { CodeEditor } from '../components/code-editor';
import { ErrorBox, Loading, inputValue } from '../components/ui';
import { toApiError, type ApiError } from '../lib/api-error';
import { pushToast } from '../state/toasts';

type Tab = 'script' | 'manifest';

type Action = { id: string; label: string; target: string };

function actionsOf(manifest: string): Action[] {
  try {
    const m = JSON.parse(manifest) as { actions?: Action[] };
    return Array.isArray(m.actions) ? m.actions.filter((a) => typeof a.id === 'string') : [];
  } catch {
    return [];
  }
}

export function CodeStudio(props: { pluginId: string; onClose: () => void }) {
  const [reference, setReference] = useState<EditorReferenceDto | null>(null);
  const [script, setScript] = useState<string | null>(null);
  const [manifest, setManifest] = useState('');
  const [tab, setTab] = useState<Tab>('script');
  const [problems, setProblems] = useState<EditorDiagnosticDto[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    Promise.all([api.studioReference(), api.studioSource(props.pluginId)]).then(
      ([r, src]) => {
        if (!live) return;
        setReference(r);
        setManifest(src.manifest);
        setScript(src.script);
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
      const p = await api.studioSaveCode(manifest, script);
      pushToast('success', `${p.name} ${p.version} saved. Switch it on from Plugins when you are ready.`);
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
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
      </div>
      <div hidden={tab !== 'script'}>
        <CodeEditor doc={script} language="rhai" reference={reference} check={check} onFix={applyFix} onChange={setScript} lintKey={manifest} testid="code-script" />
      </div>
      <div hidden={tab !== 'manifest'}>
        <CodeEditor doc={manifest} language="json" onChange={setManifest} testid="code-manifest" />
      </div>
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
      <TestConsole manifest={manifest} script={script} />
    </section>
  );
}

function TestConsole(props: { manifest: string; script: string }) {
  const actions = actionsOf(props.manifest);
  const [action, setAction] = useState('');
  const [record, setRecord] = useState('');
  const [contacts, setContacts] = useState<ContactRow[]>([]);
  const [result, setResult] = useState<ConsoleResultDto | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const chosen = actions.find((a) => a.id === action) ?? actions[0];

  useEffect(() => {
    api.contactsPage({ offset: 0, limit: 50 }).then(
      (p) => {
        setContacts(p.rows);
        setRecord((r) => r || (p.rows[0]?.id ?? ''));
      },
      () => setContacts([]),
    );
  }, []);

  const run = async () => {
    if (!chosen) return;
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const onRecord = chosen.target === 'contact' || chosen.target === 'policy';
      setResult(await api.studioConsole(props.manifest, props.script, chosen.id, onRecord ? record : null));
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="card stack-sm" data-testid="code-console">
      <h2>Test console</h2>
      <p class="muted small">Runs on a copy of your records: nothing is kept and nothing is sent.</p>
      {actions.length === 0 ? (
        <p class="muted small">The manifest declares no action to run.</p>
      ) : (
        <div class="row wrap">
          <select class="input" style={{ width: 'auto' }} aria-label="Action" data-testid="console-action" value={chosen?.id ?? ''} onChange={(e) => setAction(inputValue(e))}>
            {actions.map((a) => (
              <option key={a.id} value={a.id}>
                {a.label}
              </option>
            ))}
          </select>
          {(chosen?.target === 'contact' || chosen?.target === 'policy') && (
            <select class="input" style={{ width: 'auto' }} aria-label="Contact" data-testid="console-record" value={record} onChange={(e) => setRecord(inputValue(e))}>
              {contacts.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.display_name}
                </option>
              ))}
            </select>
          )}
          <button type="button" class="btn btn-primary btn-sm" data-testid="console-run" disabled={busy} onClick={() => void run()}>
            {busy ? 'Running…' : 'Run (dry run)'}
          </button>
        </div>
      )}
      <ErrorBox error={error} />
      {result && (
        <div data-testid="console-result">
          {result.ok ? (
            <p class="small">
              Returned <code>{result.value}</code> in {result.elapsed_ms} ms, {result.operations} operations.
            </p>
          ) : (
            <div class="alert" role="alert" data-testid="console-error">
              {result.error}
              {result.error_line !== null && ` (main.rhai line ${result.error_line})`}
            </div>
          )}
          {[...result.output.map((l) => `print: ${l}`), ...result.logs, ...result.requests.map((r) => `would send ${r}`)].length > 0 && (
            <pre class="console-log" data-testid="console-log">
              {[...result.output.map((l) => `print: ${l}`), ...result.logs, ...result.requests.map((r) => `would send ${r}`)].join('\n')}
            </pre>
          )}
        </div>
      )}
    </div>
  );
}
