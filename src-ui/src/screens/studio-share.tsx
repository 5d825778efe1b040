// What the Studio offers for each of your plugins besides editing it: its
// run history (the last 90 days: what started each run, what it changed,
// any error with its line), and sharing it as a package signed with your
// publisher key, or as a plain folder.

import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import type { DryFieldDto, PackageExportDto, PluginDto, PluginRunDto } from '../bindings';
import { Badge, ErrorBox, Loading, Modal } from '../components/ui';
import { toApiError, type ApiError } from '../lib/api-error';
import { chooseFolder, chooseSavePath } from '../lib/dialogs';
import { testId } from '../lib/testid';
import { pushToast } from '../state/toasts';

export function PluginTools(props: { plugin: PluginDto }) {
  const p = props.plugin;
  const [history, setHistory] = useState(false);
  const [exported, setExported] = useState<PackageExportDto | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const exportPackage = async () => {
    setError(null);
    try {
      const path = await chooseSavePath(`${p.id}-${p.version}.zip`, [{ name: 'Plugin package', extensions: ['zip'] }], 'Export a signed package');
      if (!path) return;
      setExported(await api.studioExportPackage(p.id, path));
    } catch (e) {
      setError(toApiError(e));
    }
  };

  const saveFolder = async () => {
    setError(null);
    try {
      const dir = await chooseFolder('Choose an empty folder for the plugin’s files');
      if (!dir) return;
      const files = await api.studioSaveFolder(p.id, dir);
      pushToast('success', `${files.length} files saved in ${dir}.`);
    } catch (e) {
      setError(toApiError(e));
    }
  };

  return (
    <>
      <div class="row wrap">
        <button type="button" class="btn btn-sm" data-testid={testId('plugin-history', p.id)} onClick={() => setHistory(true)}>
          History
        </button>
        <button type="button" class="btn btn-sm" data-testid={testId('plugin-export', p.id)} onClick={() => void exportPackage()}>
          Export package…
        </button>
        <button type="button" class="btn btn-sm" data-testid={testId('plugin-folder', p.id)} onClick={() => void saveFolder()}>
          Save as folder…
        </button>
      </div>
      <ErrorBox error={error} />
      {history && <RunHistory plugin={p} onClose={() => setHistory(false)} />}
      {exported && (
        <Modal title="Package exported" onClose={() => setExported(null)} testid="export-done">
          <p>
            {exported.files} files signed and saved in <code>{exported.path}</code>.
          </p>
          <p>
            Another office installs it once its admin trusts your publisher key (Plugins, then “Trust a publisher”, or <code>crm plugin trust</code>):
          </p>
          <pre class="console-log" data-testid="export-key">
            {exported.publisher_key}
          </pre>
          <p class="muted small">
            {exported.kept_in === 'keyring'
              ? 'The secret half of your key is kept in this computer’s keyring and never leaves it.'
              : 'No keyring answered on this computer, so the secret half of your key is kept in your encrypted profile and never leaves it.'}
          </p>
          <div class="form-actions">
            <button type="button" class="btn" onClick={() => void navigator.clipboard?.writeText(exported.publisher_key)}>
              Copy the key
            </button>
            <button type="button" class="btn btn-primary" onClick={() => setExported(null)}>
              Done
            </button>
          </div>
        </Modal>
      )}
    </>
  );
}

const FIRST = ['title', 'display_name', 'first_name', 'policy_number', 'body'];

/** A record's fields as people read them: its name or title first, internal ids left out. */
function readable(fields: DryFieldDto[]): DryFieldDto[] {
  const rank = (f: DryFieldDto) => {
    const i = FIRST.indexOf(f.field);
    return i === -1 ? FIRST.length : i;
  };
  return fields.filter((f) => !f.field.endsWith('_id')).sort((a, b) => rank(a) - rank(b));
}

function when(at: string): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? at : d.toLocaleString();
}

/** A plugin's last runs, newest first. */
export function RunHistory(props: { plugin: PluginDto; onClose: () => void }) {
  const [runs, setRuns] = useState<PluginRunDto[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    let live = true;
    api.pluginRuns(props.plugin.id).then(
      (r) => live && setRuns(r),
      (e) => live && setError(toApiError(e)),
    );
    return () => {
      live = false;
    };
  }, [props.plugin.id]);
  return (
    <Modal title={`${props.plugin.name}: its runs`} onClose={props.onClose} testid="run-history">
      <ErrorBox error={error} />
      {!runs && !error && <Loading />}
      {runs && runs.length === 0 && <p class="muted">It has not run yet. Runs are kept for 90 days.</p>}
      {runs && runs.length > 0 && (
        <ol class="dry-list" data-testid="run-list">
          {runs.map((r, i) => (
            <li key={i} class="stack-sm" data-testid="run">
              <div class="row wrap">
                <Badge tone={r.ok ? 'ok' : 'danger'}>{r.ok ? 'Done' : 'Failed'}</Badge>
                <strong>{r.started_by}</strong>
                {r.record_name && <span>on {r.record_name}</span>}
                <span class="muted small spacer">
                  {when(r.at)}, {r.duration_ms.toFixed(1)} ms
                </span>
              </div>
              {r.error && (
                <p class="alert" role="alert" data-testid="run-error">
                  {r.error}
                  {r.error_line !== null && ` (line ${r.error_line} of its script)`}
                </p>
              )}
              {r.changes.length > 0 ? (
                <ul class="small" data-testid="run-changes">
                  {r.changes.map((c, j) => (
                    <li key={j}>
                      {c.action === 'created' ? `Made a ${c.what}` : c.action === 'deleted' ? `Deleted a ${c.what}` : `Changed a ${c.what}`}
                      {c.fields.length > 0 &&
                        `: ${readable(c.fields)
                          .slice(0, 4)
                          .map((f) => (c.action === 'created' ? `${f.label} ${f.after}` : `${f.label} ${f.before || '(empty)'} → ${f.after || '(empty)'}`))
                          .join('; ')}${readable(c.fields).length > 4 ? '; …' : ''}`}
                    </li>
                  ))}
                  {r.more_changes > 0 && <li class="muted">and {r.more_changes} more</li>}
                </ul>
              ) : (
                r.ok && <p class="muted small">It changed nothing.</p>
              )}
            </li>
          ))}
        </ol>
      )}
      <div class="form-actions">
        <button type="button" class="btn btn-primary" onClick={props.onClose}>
          Close
        </button>
      </div>
    </Modal>
  );
}
