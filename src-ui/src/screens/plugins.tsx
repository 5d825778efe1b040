// Plugins: what is installed and what it may do, the template gallery,
// installing a package, the permission review on enable, settings, health.

import { useState } from 'preact/hooks';
import * as api from '../api';
import type { CatalogOfferDto, KeptPluginDataDto, PluginDto, SettingFieldDto, TemplateDto } from '../bindings';
import { PluginActionButtons } from '../components/plugin-ui';
import { Badge, EmptyState, ErrorBox, Field, LoadError, Loading, Modal, PageHeader, inputValue } from '../components/ui';
import { toApiError, type ApiError } from '../lib/api-error';
import { chooseFile, chooseSavePath } from '../lib/dialogs';
import { initialValues, settingsPayload, validateSettings, type SettingErrors, type SettingValues } from '../lib/plugin-settings';
import { testId } from '../lib/testid';
import { pushToast } from '../state/toasts';
import { useLoader } from '../state/use-loader';

type Loaded = { plugins: PluginDto[]; templates: TemplateDto[]; kept: KeptPluginDataDto[]; offers: CatalogOfferDto[] };

export function PluginsScreen() {
  const data = useLoader<Loaded>(async () => {
    const [plugins, templates, kept, offers] = await Promise.all([api.plugins(), api.pluginTemplates(), api.pluginKept(), api.catalogOffers()]);
    return { plugins, templates, kept, offers };
    // Live: what the agency's catalog changes at a sync shows at once.
  }, [], { live: true });
  const [enabling, setEnabling] = useState<PluginDto | null>(null);
  const [removing, setRemoving] = useState<PluginDto | null>(null);
  const reload = () => void data.reload();

  return (
    <div class="page">
      <PageHeader title="Plugins" subtitle="Add automations and panels. Plugins run in a sandbox and only do what you allow." />
      <LoadError error={data.error} onRetry={reload} />
      {!data.data && !data.error && <Loading />}
      {data.data && (
        <>
          <section class="stack" aria-labelledby="installed-h">
            <h2 id="installed-h">Installed</h2>
            {data.data.plugins.length === 0 ? (
              <EmptyState title="No plugins installed" testid="plugins-empty">
                <p>Start from a template below, or install a package you were given.</p>
              </EmptyState>
            ) : (
              data.data.plugins.map((p) => (
                <PluginCard key={p.id} plugin={p} onEnable={() => setEnabling(p)} onUninstall={() => setRemoving(p)} onChanged={reload} />
              ))
            )}
          </section>
          {data.data.offers.length > 0 && <AgencyOffers offers={data.data.offers} onInstalled={reload} />}
          {data.data.kept.length > 0 && <KeptData kept={data.data.kept} />}
          <TemplateGallery templates={data.data.templates} onInstalled={reload} />
          <InstallPackage onInstalled={reload} />
        </>
      )}
      {enabling && (
        <EnableDialog
          plugin={enabling}
          onClose={() => setEnabling(null)}
          onDone={() => {
            setEnabling(null);
            reload();
          }}
        />
      )}
      {removing && (
        <UninstallDialog
          plugin={removing}
          onClose={() => setRemoving(null)}
          onDone={() => {
            setRemoving(null);
            reload();
          }}
        />
      )}
    </div>
  );
}

/** Plugins the agency's catalog offers: anyone may install them, and switch them on with at most the permissions it approves. */
function AgencyOffers(props: { offers: CatalogOfferDto[]; onInstalled: () => void }) {
  const [error, setError] = useState<ApiError | null>(null);
  const install = async (o: CatalogOfferDto) => {
    setError(null);
    try {
      await api.catalogInstall(o.id);
      pushToast('success', `${o.id} is installed. Switch it on when you want it.`);
      props.onInstalled();
    } catch (e) {
      setError(toApiError(e));
    }
  };
  return (
    <section class="stack" aria-labelledby="offers-h" data-testid="plugins-offers">
      <h2 id="offers-h">From your agency</h2>
      <p class="muted small">Plugins your agency allows you to add.</p>
      <ul class="dry-list">
        {props.offers.map((o) => (
          <li key={o.id} class="row">
            <span class="spacer">
              <strong>{o.id}</strong> <span class="muted small">{o.version ?? ''} — may be allowed: {o.grants.length === 0 ? 'nothing' : o.grants.join(', ')}</span>
            </span>
            <button type="button" class="btn btn-sm btn-primary" data-testid={testId('offer-install', o.id)} onClick={() => void install(o)}>
              Install
            </button>
          </li>
        ))}
      </ul>
      <ErrorBox error={error} />
    </section>
  );
}

/** Data kept in this profile from plugins the agency removed, each can be saved as a file. */
function KeptData(props: { kept: KeptPluginDataDto[] }) {
  const [error, setError] = useState<ApiError | null>(null);
  const save = async (k: KeptPluginDataDto) => {
    const path = await chooseSavePath(`${k.plugin_id}-data.json`, [{ name: 'JSON', extensions: ['json'] }], 'Save the plugin’s kept data');
    if (!path) return;
    try {
      await api.pluginKeptSave(k.plugin_id, path);
      pushToast('success', `Saved the data kept from ${k.plugin_id}.`);
    } catch (e) {
      setError(toApiError(e));
    }
  };
  const newest = props.kept.filter((k, i) => props.kept.findIndex((x) => x.plugin_id === k.plugin_id) === i);
  return (
    <section class="stack" aria-labelledby="kept-h" data-testid="plugins-kept">
      <h2 id="kept-h">Data kept from removed plugins</h2>
      <p class="muted small">Your agency removed these plugins; what they had stored is kept here, encrypted, in case you need it.</p>
      <ul class="dry-list">
        {newest.map((k) => (
          <li key={k.plugin_id} class="row">
            <span class="spacer">
              <strong>{k.plugin_id}</strong> <span class="muted small">kept {k.at.slice(0, 10)}</span>
            </span>
            <button type="button" class="btn btn-sm" data-testid={testId('kept-save', k.plugin_id)} onClick={() => void save(k)}>
              Save as file…
            </button>
          </li>
        ))}
      </ul>
      <ErrorBox error={error} />
    </section>
  );
}

/** Where a plugin's code comes from, in words. */
function originWords(p: PluginDto): string {
  switch (p.origin) {
    case 'app':
      return 'Ships with the app';
    case 'studio':
      return 'Made here in the Studio';
    case 'signed':
      return `Signed (${p.signer ?? ''})`;
    case 'unsigned':
      return 'Unsigned';
  }
}

function PluginCard(props: { plugin: PluginDto; onEnable: () => void; onUninstall: () => void; onChanged: () => void }) {
  const p = props.plugin;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const h = p.health;

  const disable = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.pluginDisable(p.id);
      pushToast('info', `${p.name} disabled`);
      props.onChanged();
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  };

  const globalActions = p.actions.filter((a) => a.target === 'global');

  return (
    <article class="card plugin-card" data-testid={testId('plugin', p.id)} aria-labelledby={`${testId('plugin', p.id)}-h`}>
      <div class="card-head">
        <div>
          <h3 id={`${testId('plugin', p.id)}-h`}>
            {p.name} <span class="muted small">v{p.version}</span>
          </h3>
          <div class="muted small">
            by {p.author} · {originWords(p)} · <span class="mono">{p.id}</span>
          </div>
          {p.catalog && (
            <div class="small" data-testid={testId('catalog', p.id)}>
              {p.catalog}
            </div>
          )}
        </div>
        <div class="row">
          <Badge tone={p.enabled ? 'ok' : 'plain'} testid={testId('status', p.id)}>
            {p.enabled ? 'Enabled' : 'Disabled'}
          </Badge>
          {p.enabled ? (
            <button type="button" class="btn btn-sm" data-testid={testId('disable', p.id)} disabled={busy} onClick={() => void disable()}>
              Disable
            </button>
          ) : p.stopped_by_catalog ? null : (
            <button type="button" class="btn btn-sm btn-primary" data-testid={testId('enable', p.id)} disabled={busy} onClick={props.onEnable}>
              Enable…
            </button>
          )}
          <button type="button" class="btn btn-sm btn-danger" data-testid={testId('uninstall', p.id)} disabled={busy} onClick={props.onUninstall}>
            Uninstall…
          </button>
        </div>
      </div>
      {p.disabled_reason && (
        <div class="alert alert-warn" role="status">
          <strong>Turned off by the app</strong>
          {p.disabled_reason}
        </div>
      )}
      <ErrorBox error={error} />
      <p>{p.description}</p>
      <div class="grid-2">
        <div class="stack-sm">
          <h4>It may</h4>
          {p.permissions.length === 0 ? (
            <p class="muted small">Nothing beyond its own panels.</p>
          ) : (
            <ul class="perm-list">
              {p.permissions.map((perm) => (
                <li key={perm.permission}>
                  {perm.description}{' '}
                  {p.enabled && !perm.granted && <Badge tone="warn">not allowed</Badge>}
                </li>
              ))}
            </ul>
          )}
        </div>
        <div class="stack-sm">
          <h4>It runs</h4>
          {p.hooks.length === 0 && p.schedules.length === 0 && p.actions.length === 0 ? (
            <p class="muted small">Only when you open its panels.</p>
          ) : (
            <ul class="perm-list">
              {p.hooks.map((x) => (
                <li key={`h-${x}`}>{x}</li>
              ))}
              {p.schedules.map((x) => (
                <li key={`s-${x}`}>{x}</li>
              ))}
              {p.actions.map((a) => (
                <li key={`a-${a.action_id}`}>When you press “{a.label}”</li>
              ))}
            </ul>
          )}
        </div>
      </div>
      <dl class="health" aria-label="Health">
        <div>
          <dt>Runs</dt>
          <dd>{h.runs}</dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd class={h.errors > 0 ? 'text-danger' : ''}>{h.errors}</dd>
        </div>
        <div>
          <dt>Typical time</dt>
          <dd>{h.runs > 0 ? `${Math.round(h.p50_ms)} ms` : '—'}</dd>
        </div>
        <div>
          <dt>Slowest (p95)</dt>
          <dd>{h.runs > 0 ? `${Math.round(h.p95_ms)} ms` : '—'}</dd>
        </div>
      </dl>
      {h.last_error && (
        <div class="alert alert-warn small">
          <strong>Last error</strong>
          {h.last_error}
        </div>
      )}
      {p.settings.length > 0 && <SettingsForm plugin={p} onSaved={props.onChanged} />}
      {p.enabled && globalActions.length > 0 && <PluginActionButtons actions={globalActions} record={null} onDone={props.onChanged} />}
    </article>
  );
}

function SettingInput(props: { field: SettingFieldDto; value: string; error: string | null; onInput: (v: string) => void }) {
  const f = props.field;
  const tid = testId('setting', f.key);
  if (f.kind === 'boolean') {
    return (
      <div class="field">
        <label class="check">
          <input type="checkbox" data-testid={tid} checked={props.value === 'true'} onChange={(e) => props.onInput((e.currentTarget as HTMLInputElement).checked ? 'true' : 'false')} />
          <span>{f.label}</span>
        </label>
        {props.error && (
          <span class="field-error" data-testid={`error-${f.key}`}>
            {props.error}
          </span>
        )}
      </div>
    );
  }
  const hint =
    f.kind === 'secret'
      ? f.is_set
        ? 'A value is set. Leave empty to keep it.'
        : 'Not set.'
      : f.from_agency
        ? 'Set by your agency for everyone.'
        : undefined;
  return (
    <Field label={f.label} name={f.key} error={props.error} hint={hint} required={f.required}>
      {(a) =>
        f.choices.length > 0 ? (
          <select {...a} class="select" data-testid={tid} value={props.value} onChange={(e) => props.onInput(inputValue(e))}>
            {!f.choices.includes(props.value) && <option value={props.value}>{props.value === '' ? 'Choose…' : props.value}</option>}
            {f.choices.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        ) : (
          <input
            {...a}
            class="input"
            type={f.kind === 'secret' ? 'password' : f.kind === 'integer' || f.kind === 'number' ? 'number' : 'text'}
            step={f.kind === 'integer' ? 1 : f.kind === 'number' ? 'any' : undefined}
            autocomplete={f.kind === 'secret' ? 'off' : undefined}
            placeholder={f.kind === 'secret' && f.is_set ? '••••••••' : undefined}
            data-testid={tid}
            value={props.value}
            onInput={(e) => props.onInput(inputValue(e))}
          />
        )
      }
    </Field>
  );
}

function SettingsForm(props: { plugin: PluginDto; onSaved: () => void }) {
  const p = props.plugin;
  const [values, setValues] = useState<SettingValues>(() => initialValues(p.settings));
  const [errors, setErrors] = useState<SettingErrors>({});
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const problems = validateSettings(p.settings, values);
    setErrors(problems);
    if (Object.keys(problems).length > 0) return;
    setBusy(true);
    try {
      await api.pluginConfigure(p.id, settingsPayload(p.settings, values));
      pushToast('success', `${p.name} settings saved`);
      props.onSaved();
    } catch (err) {
      const apiErr = toApiError(err);
      if (apiErr.code === 'invalid' && apiErr.field && p.settings.some((s) => s.key === apiErr.field)) setErrors({ [apiErr.field]: apiErr.message });
      else setError(apiErr);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card-sub form" onSubmit={save} noValidate aria-label={`${p.name} settings`}>
      <h4>Settings</h4>
      <ErrorBox error={error} />
      <div class="form-grid">
        {p.settings.map((f) => (
          <SettingInput key={f.key} field={f} value={values[f.key] ?? ''} error={errors[f.key] ?? null} onInput={(v) => setValues({ ...values, [f.key]: v })} />
        ))}
      </div>
      <div class="form-actions">
        <button type="submit" class="btn btn-sm btn-primary" data-testid={testId('save-settings', p.id)} disabled={busy}>
          {busy ? 'Saving…' : 'Save settings'}
        </button>
      </div>
    </form>
  );
}

function EnableDialog(props: { plugin: PluginDto; onClose: () => void; onDone: () => void }) {
  const p = props.plugin;
  const [checked, setChecked] = useState<Record<string, boolean>>(() => Object.fromEntries(p.permissions.map((x) => [x.permission, true])));
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      const grants = p.permissions.filter((x) => checked[x.permission]).map((x) => x.permission);
      await api.pluginEnable(p.id, grants);
      pushToast('success', `${p.name} enabled`);
      props.onDone();
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  };

  const unchecked = p.permissions.some((x) => !checked[x.permission]);

  return (
    <Modal title={`Enable ${p.name}?`} onClose={props.onClose} testid="enable-dialog">
      <div class="alert alert-warn">
        Once enabled, this plugin can act on your clients’ data with the permissions you tick below, without asking again. Only
        enable plugins from people you trust.
      </div>
      {p.origin === 'unsigned' && (
        <div class="alert">
          <strong>Unsigned plugin</strong>
          Nobody has vouched for this code: it was written on this computer or installed in developer mode. Enable it only if you wrote it or trust who did.
        </div>
      )}
      {(p.origin === 'app' || p.origin === 'studio') && (
        <p class="muted small" data-testid="plugin-origin">
          {originWords(p)}
        </p>
      )}
      {p.permissions.length === 0 ? (
        <p class="muted">This plugin asks for no permissions.</p>
      ) : (
        <div class="stack-sm" role="group" aria-label="Permissions">
          {p.permissions.map((x) => (
            <label key={x.permission} class="check permission-line" data-testid="permission">
              <input
                type="checkbox"
                checked={checked[x.permission] ?? false}
                onChange={(e) => setChecked({ ...checked, [x.permission]: (e.currentTarget as HTMLInputElement).checked })}
              />
              <span>
                {x.description}
                <span class="muted small mono"> ({x.permission})</span>
              </span>
            </label>
          ))}
        </div>
      )}
      {unchecked && <p class="muted small">Parts of the plugin that need an unticked permission will fail when they run.</p>}
      <ErrorBox error={error} />
      <div class="form-actions">
        <button type="button" class="btn" onClick={props.onClose}>
          Cancel
        </button>
        <button type="button" class="btn btn-primary" data-testid="confirm-enable" disabled={busy} onClick={() => void confirm()}>
          {busy ? 'Enabling…' : 'Enable'}
        </button>
      </div>
    </Modal>
  );
}

function UninstallDialog(props: { plugin: PluginDto; onClose: () => void; onDone: () => void }) {
  const p = props.plugin;
  const [exportFirst, setExportFirst] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      let exportPath: string | null = null;
      if (exportFirst) {
        exportPath = await chooseSavePath(`${p.id}-data.json`, [{ name: 'JSON', extensions: ['json'] }], 'Save the plugin’s data');
        if (exportPath === null) {
          setBusy(false);
          return;
        }
      }
      await api.pluginUninstall(p.id, exportPath);
      pushToast('success', `${p.name} uninstalled`);
      props.onDone();
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title={`Uninstall ${p.name}?`} onClose={props.onClose} testid="uninstall-dialog">
      <p>The plugin and the data it stored for itself are removed. Your contacts, policies and tasks are not touched.</p>
      <label class="check">
        <input type="checkbox" data-testid="uninstall-export" checked={exportFirst} onChange={(e) => setExportFirst((e.currentTarget as HTMLInputElement).checked)} />
        <span>Export its data to a file first</span>
      </label>
      <ErrorBox error={error} />
      <div class="form-actions">
        <button type="button" class="btn" onClick={props.onClose}>
          Cancel
        </button>
        <button type="button" class="btn btn-danger-solid" data-testid="confirm-uninstall" disabled={busy} onClick={() => void confirm()}>
          {busy ? 'Uninstalling…' : 'Uninstall'}
        </button>
      </div>
    </Modal>
  );
}

function TemplateGallery(props: { templates: TemplateDto[]; onInstalled: () => void }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const install = async (t: TemplateDto) => {
    setBusy(t.name);
    setError(null);
    try {
      const p = await api.pluginInstallTemplate(t.name);
      pushToast('success', `${p.name} installed. Review and enable it above.`);
      props.onInstalled();
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(null);
    }
  };
  return (
    <section class="stack" aria-labelledby="templates-h">
      <h2 id="templates-h">Add from a template</h2>
      <ErrorBox error={error} />
      {props.templates.length === 0 ? (
        <p class="muted">No templates are available.</p>
      ) : (
        <div class="template-grid">
          {props.templates.map((t) => (
            <div class="card card-tight" key={t.name}>
              <h3>{t.name}</h3>
              <p class="small muted spacer">{t.description}</p>
              <div class="row">
                {t.installed_as ? (
                  <Badge tone="ok" title={t.installed_as}>
                    Installed
                  </Badge>
                ) : (
                  <button
                    type="button"
                    class="btn btn-sm"
                    data-testid={testId('install-template', t.name)}
                    disabled={busy !== null}
                    onClick={() => void install(t)}
                  >
                    {busy === t.name ? 'Installing…' : 'Install'}
                  </button>
                )}
              </div>
            </div>
          ))}
        </div>
      )}
    </section>
  );
}

function InstallPackage(props: { onInstalled: () => void }) {
  const [path, setPath] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const browse = async () => {
    try {
      const picked = await chooseFile([{ name: 'Plugin package', extensions: ['zip'] }], 'Choose a plugin package');
      if (picked) setPath(picked);
    } catch (e) {
      setError(toApiError(e));
    }
  };
  const install = async (e: Event) => {
    e.preventDefault();
    if (path.trim() === '') {
      setError({ code: 'invalid', message: 'choose a package or type its path', field: 'path' });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const p = await api.pluginInstallFile(path.trim());
      pushToast('success', `${p.name} installed. Review and enable it above.`);
      setPath('');
      props.onInstalled();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="package-h">
      <h2 id="package-h">Install a package</h2>
      <form class="form" onSubmit={install} noValidate>
        <ErrorBox error={error && error.field !== 'path' ? error : null} />
        <Field label="Package file" name="path" error={error?.field === 'path' ? error.message : null} hint="A signed plugin package (.zip). Unsigned ones need developer mode.">
          {(a) => (
            <div class="row">
              <input {...a} class="input spacer" data-testid="plugin-path" value={path} onInput={(e) => setPath(inputValue(e))} />
              <button type="button" class="btn" data-testid="plugin-browse" onClick={() => void browse()}>
                Choose file…
              </button>
            </div>
          )}
        </Field>
        <div class="form-actions">
          <button type="submit" class="btn btn-primary" data-testid="plugin-install" disabled={busy}>
            {busy ? 'Installing…' : 'Install package…'}
          </button>
        </div>
      </form>
    </section>
  );
}
