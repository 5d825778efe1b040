// The Studio: build automations without code, try them on your own records
// (a dry run that changes nothing), then switch them on. The gallery shows
// the templates that ship with the app in plain words, and your automations.

import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import type { DryRunDto, PluginDto, StudioCatalogDto, StudioProgressDto, TemplateDto } from '../bindings';
import { Badge, ErrorBox, LoadError, Loading, Modal, PageHeader } from '../components/ui';
import { toApiError, type ApiError } from '../lib/api-error';
import { chooseFile, chooseFolder } from '../lib/dialogs';
import { testId } from '../lib/testid';
import type { Automation } from '../lib/wizard-model';
import { pushToast } from '../state/toasts';
import { useLoader } from '../state/use-loader';
import { PluginTools } from './studio-share';
import { DryRunView, Wizard } from './studio-wizard';

type Loaded = { catalog: StudioCatalogDto; templates: TemplateDto[]; plugins: PluginDto[] };

type Mode = { kind: 'gallery' } | { kind: 'wizard'; model: Automation | null; editing: boolean } | { kind: 'code'; pluginId: string };

export function StudioScreen() {
  const data = useLoader<Loaded>(async () => {
    const [catalog, templates, plugins] = await Promise.all([api.studioCatalog(), api.pluginTemplates(), api.plugins()]);
    return { catalog, templates, plugins };
  }, []);
  const [mode, setMode] = useState<Mode>({ kind: 'gallery' });
  const [trying, setTrying] = useState<PluginDto | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const reload = () => void data.reload();

  const bringIn = async (what: 'package' | 'folder') => {
    setError(null);
    try {
      const path = what === 'package' ? await chooseFile([{ name: 'Plugin package', extensions: ['zip'] }], 'Choose a plugin package') : await chooseFolder('Choose a plugin folder');
      if (!path) return;
      const p = await api.pluginInstallFile(path);
      pushToast('success', `${p.name} ${p.version} installed, switched off.`);
      reload();
    } catch (e) {
      setError(toApiError(e));
    }
  };

  const reopen = async (p: PluginDto) => {
    setError(null);
    try {
      const text = await api.studioModel(p.id);
      if (text === null) {
        setError({ code: 'plugin', message: `${p.name} is a code plugin; the wizard cannot open it.`, field: null });
        return;
      }
      setMode({ kind: 'wizard', model: JSON.parse(text) as Automation, editing: true });
    } catch (e) {
      setError(toApiError(e));
    }
  };

  if (mode.kind === 'wizard' && data.data) {
    return (
      <div class="page">
        <Wizard
          catalog={data.data.catalog}
          initial={mode.model}
          editing={mode.editing}
          onClose={() => {
            setMode({ kind: 'gallery' });
            reload();
          }}
        />
      </div>
    );
  }

  if (mode.kind === 'code') {
    return (
      <div class="page">
        <LazyCodeStudio
          pluginId={mode.pluginId}
          onClose={() => {
            setMode({ kind: 'gallery' });
            reload();
          }}
        />
      </div>
    );
  }

  const mine = data.data?.plugins.filter((p) => p.origin === 'studio') ?? [];
  const code = data.data?.plugins.filter((p) => p.origin === 'unsigned') ?? [];
  return (
    <div class="page">
      <PageHeader title="Studio" subtitle="Make your own automations without code, try them on your records, then switch them on." />
      <LoadError error={data.error} onRetry={reload} />
      <ErrorBox error={error} />
      {!data.data && !data.error && <Loading />}
      {data.data && (
        <>
          <section class="stack" aria-labelledby="studio-new-h">
            <h2 id="studio-new-h">Start something new</h2>
            <div class="template-grid">
              <div class="card card-tight studio-new">
                <h3>New automation</h3>
                <p class="small muted spacer">Pick what starts it, the conditions, and what it does. No code.</p>
                <div class="row">
                  <button type="button" class="btn btn-primary btn-sm" data-testid="studio-new-automation" onClick={() => setMode({ kind: 'wizard', model: null, editing: false })}>
                    New automation
                  </button>
                </div>
              </div>
              <div class="card card-tight studio-new">
                <h3>New code plugin</h3>
                <p class="small muted spacer">Write Rhai with completion, checks as you type, and a test console.</p>
                <div class="row">
                  <button type="button" class="btn btn-sm" data-testid="studio-new-code" onClick={() => setMode({ kind: 'code', pluginId: '' })}>
                    New code plugin
                  </button>
                </div>
              </div>
              <div class="card card-tight studio-new">
                <h3>Bring one in</h3>
                <p class="small muted spacer">A package someone exported, or a plugin folder. It arrives switched off. Folders and unsigned packages need developer mode.</p>
                <div class="row wrap">
                  <button type="button" class="btn btn-sm" data-testid="studio-import-package" onClick={() => void bringIn('package')}>
                    Import a package…
                  </button>
                  <button type="button" class="btn btn-sm" data-testid="studio-import-folder" onClick={() => void bringIn('folder')}>
                    Import a folder…
                  </button>
                </div>
              </div>
            </div>
          </section>
          {mine.length > 0 && (
            <section class="stack" aria-labelledby="studio-mine-h">
              <h2 id="studio-mine-h">Your automations</h2>
              <div class="template-grid">
                {mine.map((p) => (
                  <div class="card card-tight" key={p.id} data-testid={testId('automation', p.id)}>
                    <h3>{p.name}</h3>
                    <p class="small muted spacer">{p.description}</p>
                    <div class="row">
                      <Badge tone={p.enabled ? 'ok' : 'plain'}>{p.enabled ? 'On' : 'Off'}</Badge>
                      <button type="button" class="btn btn-sm" data-testid={testId('automation-try', p.id)} onClick={() => setTrying(p)}>
                        Try it
                      </button>
                      <button type="button" class="btn btn-sm" data-testid={testId('automation-edit', p.id)} onClick={() => void reopen(p)}>
                        Open in the wizard
                      </button>
                      <button type="button" class="btn btn-sm" data-testid={testId('automation-code', p.id)} onClick={() => setMode({ kind: 'code', pluginId: p.id })}>
                        Edit as code
                      </button>
                    </div>
                    <PluginTools plugin={p} />
                  </div>
                ))}
              </div>
            </section>
          )}
          {code.length > 0 && (
            <section class="stack" aria-labelledby="studio-code-h">
              <h2 id="studio-code-h">Your code plugins</h2>
              <div class="template-grid">
                {code.map((p) => (
                  <div class="card card-tight" key={p.id} data-testid={testId('code-plugin', p.id)}>
                    <h3>{p.name}</h3>
                    <p class="small muted spacer">{p.description}</p>
                    <div class="row">
                      <button type="button" class="btn btn-sm" data-testid={testId('code-open', p.id)} onClick={() => setMode({ kind: 'code', pluginId: p.id })}>
                        Open in the editor
                      </button>
                    </div>
                    <PluginTools plugin={p} />
                  </div>
                ))}
              </div>
            </section>
          )}
          <Gallery templates={data.data.templates} onInstalled={reload} />
        </>
      )}
      {trying && <TryDialog plugin={trying} onClose={() => setTrying(null)} />}
    </div>
  );
}

type CodeStudioModule = typeof import('./studio-code');

/** The code editor, loaded when first opened (CodeMirror is most of its weight). */
function LazyCodeStudio(props: { pluginId: string; onClose: () => void }) {
  const [mod, setMod] = useState<CodeStudioModule | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    import('./studio-code').then(setMod, (e) => setError(toApiError(e)));
  }, []);
  if (error) return <ErrorBox error={error} />;
  if (!mod) return <Loading label="Opening the editor…" />;
  return <mod.CodeStudio pluginId={props.pluginId} onClose={props.onClose} />;
}

/** A dry run of an automation as it is now: what it would do to the book. */
function TryDialog(props: { plugin: PluginDto; onClose: () => void }) {
  const [dry, setDry] = useState<DryRunDto | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [progress, setProgress] = useState<StudioProgressDto | null>(null);
  useEffect(() => {
    let live = true;
    let off: (() => void) | null = null;
    void api.onStudioProgress((p) => live && setProgress(p)).then((f) => (off = f));
    api.studioDryRun(props.plugin.id).then(
      (d) => live && setDry(d),
      (e) => live && setError(toApiError(e)),
    );
    return () => {
      live = false;
      off?.();
      void api.studioCancel();
    };
  }, [props.plugin.id]);
  return (
    <Modal title={`Try ${props.plugin.name}`} onClose={props.onClose} testid="try-dialog">
      <ErrorBox error={error} />
      {!dry && !error && (
        <p role="status">
          Trying it on your records{progress && progress.total > 0 ? `: ${progress.done} of ${progress.total}` : '…'} Nothing is changed and nothing is sent.
        </p>
      )}
      {dry && <DryRunView dry={dry} />}
      <div class="form-actions">
        <button type="button" class="btn" onClick={props.onClose}>
          Close
        </button>
      </div>
    </Modal>
  );
}

function Gallery(props: { templates: TemplateDto[]; onInstalled: () => void }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const install = async (t: TemplateDto) => {
    setBusy(t.name);
    setError(null);
    try {
      const p = await api.pluginInstallTemplate(t.name);
      pushToast('success', `${p.name} added. Switch it on from Plugins when you are ready.`);
      props.onInstalled();
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(null);
    }
  };
  return (
    <section class="stack" aria-labelledby="studio-gallery-h">
      <h2 id="studio-gallery-h">Ready-made</h2>
      <ErrorBox error={error} />
      <div class="template-grid">
        {props.templates.map((t) => (
          <article class="card card-tight" key={t.name} data-testid={testId('gallery', t.name)}>
            <h3>{t.title}</h3>
            <p class="small spacer">{t.description}</p>
            <dl class="small gallery-facts">
              <dt>Runs</dt>
              <dd>{t.runs.length > 0 ? t.runs.join('; ') : 'When you open its panels'}</dd>
              <dt>May</dt>
              <dd>{t.may.length > 0 ? t.may.join('; ') : 'Nothing beyond its own panels'}</dd>
            </dl>
            <div class="row">
              <Badge tone="ok" title="Part of this app's own build">
                Ships with the app
              </Badge>
              {t.installed_as ? (
                <Badge tone="plain" title={t.installed_as}>
                  Added
                </Badge>
              ) : (
                <button type="button" class="btn btn-sm" data-testid={testId('gallery-add', t.name)} disabled={busy !== null} onClick={() => void install(t)}>
                  {busy === t.name ? 'Adding…' : 'Add'}
                </button>
              )}
            </div>
          </article>
        ))}
      </div>
    </section>
  );
}
