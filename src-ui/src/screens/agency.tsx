// The admin console (admins only; the server enforces it): the agency's
// plugin catalog, its people and devices (`agency-people.tsx`). Publish a plugin made here (signed with your publisher
// key) or a package, choose for each plugin whether devices may install
// it, must run it, or must stop it (the kill switch, with a reason people
// see), pin or raise its version, approve its permissions; the trusted
// publishers; and the audit of every change. Devices follow at their next
// sync.

import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import type { CatalogAuditDto, CatalogPluginDto, CatalogSetArgs, CatalogViewDto, JsonValue, PluginDto } from '../bindings';
import { Badge, ErrorBox, Loading, PageHeader, inputValue } from '../components/ui';
import { toApiError, type ApiError } from '../lib/api-error';
import { chooseFile } from '../lib/dialogs';
import { testId } from '../lib/testid';
import { pushToast } from '../state/toasts';
import { DevicesTab, PeopleAudit, PeopleTab } from './agency-people';

const MODES: { value: string; label: string; hint: string }[] = [
  { value: 'allowed', label: 'Allowed', hint: 'People may install it, with the approved permissions at most.' },
  { value: 'force_installed', label: 'Installed for everyone', hint: 'Every device it is for installs and switches it on.' },
  { value: 'blocked', label: 'Blocked', hint: 'Stops on every device at its next sync and cannot be switched on.' },
  { value: 'removed', label: 'Removed', hint: 'Uninstalled from devices; its data is kept in each profile.' },
];

function modeLabel(mode: string): string {
  return MODES.find((m) => m.value === mode)?.label ?? mode;
}

type Tab = 'catalog' | 'people' | 'devices' | 'publishers' | 'audit';

const TABS: { tab: Tab; label: string }[] = [
  { tab: 'catalog', label: 'Plugin catalog' },
  { tab: 'people', label: 'People' },
  { tab: 'devices', label: 'Devices' },
  { tab: 'publishers', label: 'Trusted publishers' },
  { tab: 'audit', label: 'Changes' },
];

export function AgencyScreen() {
  const [tab, setTab] = useState<Tab>('catalog');
  const [view, setView] = useState<CatalogViewDto | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const load = () =>
    api.catalogView().then(
      (v) => {
        setView(v);
        setError(null);
      },
      (e) => setError(toApiError(e)),
    );
  useEffect(() => {
    void load();
  }, []);

  return (
    <div class="page stack">
      <PageHeader title="Agency" subtitle="Which plugins every device of your agency runs. Devices follow at their next sync." />
      <div class="tabs" role="tablist">
        {TABS.map(({ tab: t, label }) => (
          <button type="button" role="tab" class="tab" key={t} aria-selected={tab === t} data-testid={`agency-tab-${t}`} onClick={() => setTab(t)}>
            {label}
          </button>
        ))}
      </div>
      <ErrorBox error={error} />
      {tab === 'catalog' && (view ? <Catalog view={view} onChange={setView} /> : !error && <Loading />)}
      {tab === 'publishers' && view && <Publishers view={view} onChange={setView} />}
      {tab === 'people' && <PeopleTab />}
      {tab === 'devices' && <DevicesTab />}
      {tab === 'audit' && (
        <>
          <Audit />
          <PeopleAudit />
        </>
      )}
    </div>
  );
}

const LOCAL_CHOICES: { value: string; label: string }[] = [
  { value: 'admins', label: 'Admins only' },
  { value: 'everyone', label: 'Everyone' },
  { value: 'no_one', label: 'No one: only the catalog’s plugins run' },
];

/** The trusted publishers, each of which an admin can stop trusting. */
function Publishers(props: { view: CatalogViewDto; onChange: (v: CatalogViewDto) => void }) {
  const [error, setError] = useState<ApiError | null>(null);
  const distrust = async (key: string, name: string) => {
    if (!window.confirm(`Stop trusting ${name}? Plugins signed with this key stop on every device at its next sync.`)) return;
    try {
      props.onChange(await api.catalogDistrust(key));
      pushToast('success', `${name} is no longer trusted.`);
    } catch (e) {
      setError(toApiError(e));
    }
  };
  return (
    <div class="card stack-sm" data-testid="agency-publishers">
      <h2>Trusted publishers</h2>
      {props.view.publishers.length === 0 ? (
        <p class="muted">None yet. Publishing a plugin made here trusts your own publisher key.</p>
      ) : (
        <ul class="dry-list">
          {props.view.publishers.map((p) => (
            <li key={p.public_key} class="row">
              <span class="spacer">
                <strong>{p.name}</strong> <code class="small">{p.public_key.slice(0, 16)}…</code>
              </span>
              <button type="button" class="btn btn-sm btn-danger" data-testid={testId('agency-distrust', p.public_key.slice(0, 16))} onClick={() => void distrust(p.public_key, p.name)}>
                Stop trusting
              </button>
            </li>
          ))}
        </ul>
      )}
      <ErrorBox error={error} />
    </div>
  );
}

/** Who may run plugins that are not in the catalog. */
function LocalPlugins(props: { view: CatalogViewDto; onChange: (v: CatalogViewDto) => void }) {
  const [error, setError] = useState<ApiError | null>(null);
  const choose = async (who: string) => {
    try {
      props.onChange(await api.catalogSetLocalPlugins(who));
      pushToast('success', 'Saved. Devices follow at their next sync.');
    } catch (e) {
      setError(toApiError(e));
    }
  };
  return (
    <div class="card stack-sm" data-testid="agency-local-plugins">
      <label class="row">
        <span class="spacer">Who may run plugins that are not in the catalog (installed on one device only)</span>
        <select class="input" style={{ width: 'auto' }} data-testid="agency-local-plugins-who" value={props.view.local_plugins} onChange={(e) => void choose(inputValue(e))}>
          {LOCAL_CHOICES.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
      </label>
      <ErrorBox error={error} />
    </div>
  );
}

function Catalog(props: { view: CatalogViewDto; onChange: (v: CatalogViewDto) => void }) {
  return (
    <>
      <LocalPlugins view={props.view} onChange={props.onChange} />
      <Publish onChange={props.onChange} />
      {props.view.plugins.length === 0 ? (
        <p class="muted" data-testid="agency-empty">
          The catalog is empty: publish a plugin above.
        </p>
      ) : (
        <div class="stack" data-testid="agency-plugins">
          {props.view.plugins.map((p) => (
            <CatalogCard key={p.id} plugin={p} onChange={props.onChange} />
          ))}
        </div>
      )}
    </>
  );
}

/** Publish a plugin installed here (signed with your publisher key) or a package file. */
function Publish(props: { onChange: (v: CatalogViewDto) => void }) {
  const [plugins, setPlugins] = useState<PluginDto[]>([]);
  const [id, setId] = useState('');
  const [mode, setMode] = useState('allowed');
  const [grants, setGrants] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    api.plugins().then(setPlugins, () => setPlugins([]));
  }, []);
  const chosen = plugins.find((p) => p.id === id);
  useEffect(() => {
    setGrants(chosen ? chosen.permissions.map((p) => p.permission) : []);
  }, [id]);

  const run = async (f: () => Promise<CatalogViewDto>, what: string) => {
    setBusy(true);
    setError(null);
    try {
      props.onChange(await f());
      pushToast('success', `${what} published to your agency's catalog.`);
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="card stack-sm" data-testid="agency-publish">
      <h2>Publish a plugin</h2>
      <div class="row wrap">
        <select class="input" style={{ width: 'auto' }} aria-label="Plugin to publish" data-testid="agency-publish-plugin" value={id} onChange={(e) => setId(inputValue(e))}>
          <option value="">choose one installed here…</option>
          {plugins.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name} {p.version}
            </option>
          ))}
        </select>
        <select class="input" style={{ width: 'auto' }} aria-label="Mode" data-testid="agency-publish-mode" value={mode} onChange={(e) => setMode(inputValue(e))}>
          {MODES.filter((m) => m.value === 'allowed' || m.value === 'force_installed').map((m) => (
            <option key={m.value} value={m.value}>
              {m.label}
            </option>
          ))}
        </select>
        <button type="button" class="btn btn-primary btn-sm" data-testid="agency-publish-go" disabled={busy || !chosen} onClick={() => chosen && void run(() => api.catalogPublishInstalled(chosen.id, mode, grants), chosen.name)}>
          Publish
        </button>
        <button
          type="button"
          class="btn btn-sm"
          disabled={busy}
          onClick={async () => {
            const path = await chooseFile([{ name: 'Plugin package', extensions: ['zip'] }], 'Choose a signed package');
            if (path) void run(() => api.catalogPublishFile(path, mode, []), 'The package');
          }}
        >
          Publish a package file…
        </button>
      </div>
      {chosen && (
        <fieldset class="stack-sm">
          <legend class="small">Devices may grant it</legend>
          {chosen.permissions.map((p) => (
            <label class="row small" key={p.permission}>
              <input
                type="checkbox"
                data-testid={testId('agency-grant', p.permission)}
                checked={grants.includes(p.permission)}
                onChange={(e) => setGrants((g) => ((e.target as HTMLInputElement).checked ? [...g, p.permission] : g.filter((x) => x !== p.permission)))}
              />
              {p.description} <code>{p.permission}</code>
            </label>
          ))}
          <p class="muted small">{MODES.find((m) => m.value === mode)?.hint} It is signed with your publisher key, which your agency then trusts.</p>
        </fieldset>
      )}
      <ErrorBox error={error} />
    </div>
  );
}

function CatalogCard(props: { plugin: CatalogPluginDto; onChange: (v: CatalogViewDto) => void }) {
  const p = props.plugin;
  const [mode, setMode] = useState(p.mode);
  const [reason, setReason] = useState(p.reason ?? '');
  const [pin, setPin] = useState(p.pinned_version ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const stops = mode === 'blocked' || mode === 'removed';
  const changed = mode !== p.mode || (stops && reason !== (p.reason ?? '')) || pin !== (p.pinned_version ?? '');

  const apply = async () => {
    setBusy(true);
    setError(null);
    try {
      props.onChange(
        await api.catalogSet(p.id, {
          mode,
          ...(stops ? { reason } : {}),
          ...(pin !== (p.pinned_version ?? '') ? (pin === '' ? { min_version: p.versions[0] ?? '' } : { version: pin }) : {}),
        }),
      );
      pushToast('success', `${p.name}: ${modeLabel(mode)}. Devices follow at their next sync.`);
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <article class="card stack-sm" data-testid={testId('agency-plugin', p.id)}>
      <div class="row">
        <h3 class="spacer">
          {p.name} <span class="muted small">{p.id}</span>
        </h3>
        <Badge tone={p.mode === 'blocked' || p.mode === 'removed' ? 'danger' : p.mode === 'force_installed' ? 'ok' : 'plain'} testid={testId('agency-mode', p.id)}>
          {modeLabel(p.mode)}
        </Badge>
      </div>
      <p class="small">
        Devices run {p.version ?? 'no version'}
        {p.pinned_version ? ' (pinned)' : p.min_version ? ` (${p.min_version} or newer)` : ' (the newest)'}; published: {p.versions.join(', ')}. For: {p.audience}.
        {p.installed ? ` This device has ${p.installed}.` : ''}
      </p>
      <p class="small">May be granted: {p.grants.length === 0 ? 'nothing' : p.grants.join(', ')}</p>
      {p.devices.length > 0 && (
        <ul class="dry-list small" data-testid={testId('agency-health', p.id)}>
          {p.devices.map((h) => (
            <li key={h.version}>
              {h.version}: {h.devices} device{h.devices === 1 ? '' : 's'}
              {h.failing > 0 ? `, ${h.failing} failing` : ''}
              {h.stopped > 0 ? `, ${h.stopped} stopped` : ''} — {h.runs} runs, {h.errors} errors
              {h.last_errors.length > 0 && <div class="muted">Latest: {h.last_errors[0]}</div>}
            </li>
          ))}
        </ul>
      )}
      {p.reason && <p class="small">Reason: {p.reason}</p>}
      <div class="row wrap">
        <select class="input" style={{ width: 'auto' }} aria-label="Mode" data-testid={testId('agency-set-mode', p.id)} value={mode} onChange={(e) => setMode(inputValue(e))}>
          {MODES.map((m) => (
            <option key={m.value} value={m.value}>
              {m.label}
            </option>
          ))}
        </select>
        <select class="input" style={{ width: 'auto' }} aria-label="Version" value={pin} onChange={(e) => setPin(inputValue(e))}>
          <option value="">the newest</option>
          {p.versions.map((v) => (
            <option key={v} value={v}>
              exactly {v}
            </option>
          ))}
        </select>
        {stops && (
          <input class="input" style={{ width: '24em' }} aria-label="Why" placeholder="Why (people whose plugin stops see it)" data-testid={testId('agency-reason', p.id)} value={reason} onInput={(e) => setReason(inputValue(e))} />
        )}
        <button type="button" class={`btn btn-sm ${stops ? 'btn-danger-solid' : 'btn-primary'}`} data-testid={testId('agency-apply', p.id)} disabled={busy || !changed} onClick={() => void apply()}>
          {mode === 'blocked' ? 'Block it everywhere' : mode === 'removed' ? 'Remove it everywhere' : 'Apply'}
        </button>
      </div>
      <p class="muted small">{MODES.find((m) => m.value === mode)?.hint}</p>
      {/* Keyed by what it edits: after any change (a role template applied, say) it starts from the catalog as it is. */}
      <WhoAndWhat key={JSON.stringify([p.grants, p.who, p.settings])} plugin={p} onChange={props.onChange} />
      {p.role_templates.length > 0 && <RoleTemplates plugin={p} onChange={props.onChange} />}
      <ErrorBox error={error} />
    </article>
  );
}

function Audit() {
  const [rows, setRows] = useState<CatalogAuditDto[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    api.catalogAudit().then(setRows, (e) => setError(toApiError(e)));
  }, []);
  if (error) return <ErrorBox error={error} />;
  if (!rows) return <Loading />;
  return (
    <div class="card" data-testid="agency-audit">
      <table class="table">
        <thead>
          <tr>
            <th>When</th>
            <th>Who</th>
            <th>Plugin</th>
            <th>What</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((a, i) => (
            <tr key={i}>
              <td>{new Date(a.at).toLocaleString()}</td>
              <td>{a.actor}</td>
              <td>{a.plugin_id ?? ''}</td>
              <td>{a.what}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * The role templates a plugin suggests, each as a diff against what that
 * role may grant now; an admin applies one or not (never by itself).
 */
function RoleTemplates(props: { plugin: CatalogPluginDto; onChange: (v: CatalogViewDto) => void }) {
  const p = props.plugin;
  const [error, setError] = useState<ApiError | null>(null);
  const apply = async (name: string) => {
    try {
      props.onChange(await api.catalogApplyRoleTemplate(p.id, name));
      pushToast('success', `${p.name}: the “${name}” template is applied. Devices follow at their next sync.`);
    } catch (e) {
      setError(toApiError(e));
    }
  };
  return (
    <div class="stack-sm" data-testid={testId('agency-roles', p.id)}>
      <h4>Suggested for roles</h4>
      <ul class="dry-list">
        {p.role_templates.map((t) => (
          <li key={t.name} class="row wrap">
            <span class="spacer small">
              <strong>{t.name}</strong>
              {t.adds.length === 0 ? (
                <span class="muted"> — nothing to change{t.for_role ? '' : ' (not yet for this role)'}</span>
              ) : (
                <>
                  {' '}
                  would add <span class="text-ok">{t.adds.map((a) => `+ ${a}`).join(', ')}</span>
                </>
              )}
              {t.beyond.length > 0 && <span class="muted"> (also granted now: {t.beyond.join(', ')})</span>}
            </span>
            {(t.adds.length > 0 || !t.for_role) && (
              <button type="button" class="btn btn-sm" data-testid={testId('agency-apply-role', `${p.id}-${t.name}`)} onClick={() => void apply(t.name)}>
                Apply
              </button>
            )}
          </li>
        ))}
      </ul>
      <ErrorBox error={error} />
    </div>
  );
}

/** A setting default as typed, to the JSON the server checks. */
function settingValue(kind: string, text: string): JsonValue {
  if (kind === 'boolean') return text === 'true';
  if (kind === 'integer' || kind === 'number') {
    const n = Number(text);
    return Number.isFinite(n) ? n : text;
  }
  return text;
}

/**
 * Who a plugin is for, what it may be granted, and the defaults of its
 * settings for every device (secrets are never among them: each device
 * enters its own).
 */
function WhoAndWhat(props: { plugin: CatalogPluginDto; onChange: (v: CatalogViewDto) => void }) {
  const p = props.plugin;
  const [grants, setGrants] = useState<string[]>(p.grants);
  const [everyone, setEveryone] = useState(p.who.everyone);
  const [roles, setRoles] = useState<string[]>(p.who.roles);
  const [teams, setTeams] = useState(p.who.teams.join(', '));
  const [values, setValues] = useState<Record<string, string>>(
    Object.fromEntries(Object.entries(p.settings).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
  );
  const [error, setError] = useState<ApiError | null>(null);
  const toggle = (list: string[], x: string, on: boolean) => (on ? [...list.filter((y) => y !== x), x] : list.filter((y) => y !== x));
  const save = async () => {
    setError(null);
    const settings: Record<string, JsonValue> = {};
    for (const f of p.setting_fields) {
      const text = values[f.key] ?? '';
      if (text !== '') settings[f.key] = settingValue(f.kind, text);
    }
    const audience = { everyone, roles: everyone ? [] : roles, teams: everyone ? [] : teams.split(',').map((t) => t.trim()).filter((t) => t !== '') };
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    const sorted = (l: string[]) => [...l].sort();
    // Only what changed is sent: the rest stays as the catalog has it.
    const args: CatalogSetArgs = {};
    if (!same(sorted(grants), sorted(p.grants))) args.grants = grants;
    if (!same(audience, p.who)) args.audience = audience;
    if (!same(settings, p.settings)) args.settings = settings;
    if (Object.keys(args).length === 0) {
      pushToast('info', 'Nothing changed.');
      return;
    }
    try {
      props.onChange(await api.catalogSet(p.id, args));
      pushToast('success', `${p.name}: saved. Devices follow at their next sync.`);
    } catch (e) {
      setError(toApiError(e));
    }
  };
  return (
    <details class="stack-sm" data-testid={testId('agency-who', p.id)}>
      <summary>Who it is for, what it may do, its settings</summary>
      <fieldset class="stack-sm">
        <legend>May be granted</legend>
        {p.asks.length === 0 && <p class="muted small">It asks for nothing.</p>}
        {p.asks.map((a) => (
          <label key={a} class="row">
            <input type="checkbox" checked={grants.includes(a)} onChange={(e) => setGrants(toggle(grants, a, (e.target as HTMLInputElement).checked))} /> <code>{a}</code>
          </label>
        ))}
      </fieldset>
      <fieldset class="stack-sm">
        <legend>For</legend>
        <label class="row">
          <input type="checkbox" data-testid={testId('agency-everyone', p.id)} checked={everyone} onChange={(e) => setEveryone((e.target as HTMLInputElement).checked)} /> Everyone
        </label>
        {!everyone && (
          <>
            {['agent', 'admin'].map((r) => (
              <label key={r} class="row">
                <input type="checkbox" checked={roles.includes(r)} onChange={(e) => setRoles(toggle(roles, r, (e.target as HTMLInputElement).checked))} /> Every {r}
              </label>
            ))}
            <label class="row">
              Teams <input class="input" style={{ width: '20em' }} placeholder="north, south" data-testid={testId('agency-teams', p.id)} value={teams} onInput={(e) => setTeams(inputValue(e))} />
            </label>
          </>
        )}
      </fieldset>
      {p.setting_fields.length > 0 && (
        <fieldset class="stack-sm">
          <legend>Defaults for every device</legend>
          {p.setting_fields.map((f) => (
            <label key={f.key} class="row">
              <span class="spacer">{f.label}</span>
              {f.choices.length > 0 || f.kind === 'boolean' ? (
                <select class="input" style={{ width: 'auto' }} value={values[f.key] ?? ''} onChange={(e) => setValues({ ...values, [f.key]: inputValue(e) })}>
                  <option value="">no default</option>
                  {(f.kind === 'boolean' ? ['true', 'false'] : f.choices).map((c) => (
                    <option key={c} value={c}>
                      {c}
                    </option>
                  ))}
                </select>
              ) : (
                <input
                  class="input"
                  style={{ width: '16em' }}
                  type={f.kind === 'integer' || f.kind === 'number' ? 'number' : 'text'}
                  placeholder="no default"
                  data-testid={testId('agency-setting', `${p.id}-${f.key}`)}
                  value={values[f.key] ?? ''}
                  onInput={(e) => setValues({ ...values, [f.key]: inputValue(e) })}
                />
              )}
            </label>
          ))}
        </fieldset>
      )}
      <div class="row">
        <button type="button" class="btn btn-sm btn-primary" data-testid={testId('agency-who-save', p.id)} onClick={() => void save()}>
          Save
        </button>
      </div>
      <ErrorBox error={error} />
    </details>
  );
}

