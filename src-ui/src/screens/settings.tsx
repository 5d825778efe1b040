// Settings: the profile, phone region, AI assistant, developer mode, lock.

import { useState } from 'preact/hooks';
import * as api from '../api';
import type { SettingsDto } from '../bindings';
import { ErrorBox, Field, LoadError, Loading, PageHeader, inputValue } from '../components/ui';
import { fieldError, toApiError, type ApiError } from '../lib/api-error';
import { regionChoices } from '../lib/regions';
import { setProfile } from '../state/session';
import { pushToast } from '../state/toasts';
import { useLoader } from '../state/use-loader';

export function SettingsScreen() {
  const data = useLoader(() => api.settings(), []);
  const [lockError, setLockError] = useState<ApiError | null>(null);
  const s = data.data;
  const lock = async () => {
    try {
      setProfile(await api.profileLock());
    } catch (e) {
      setLockError(toApiError(e));
    }
  };
  return (
    <div class="page">
      <PageHeader title="Settings">
        <button type="button" class="btn" data-testid="lock-profile" onClick={() => void lock()}>
          Lock profile
        </button>
      </PageHeader>
      <ErrorBox error={lockError} />
      <LoadError error={data.error} onRetry={() => void data.reload()} />
      {!s && !data.error && <Loading />}
      {s && (
        <>
          <ProfileCard settings={s} onSaved={() => void data.reload()} />
          <AiCard settings={s} onSaved={() => void data.reload()} />
          <DeveloperCard settings={s} onSaved={() => void data.reload()} />
          <section class="card" aria-labelledby="about-h">
            <h2 id="about-h">About</h2>
            <p>
              Insurance CRM, version <span data-testid="about-version">{s.app_version}</span>
            </p>
          </section>
        </>
      )}
    </div>
  );
}

function ProfileCard(props: { settings: SettingsDto; onSaved: () => void }) {
  const s = props.settings;
  const [error, setError] = useState<ApiError | null>(null);
  const setRegion = async (code: string) => {
    setError(null);
    try {
      await api.settingsSetRegion(code);
      pushToast('success', `Default phone region set to ${code}`);
      props.onSaved();
    } catch (e) {
      setError(toApiError(e));
    }
  };
  return (
    <section class="card" aria-labelledby="profile-h">
      <h2 id="profile-h">Profile</h2>
      <dl class="details">
        <dt>Profile folder</dt>
        <dd class="mono">{s.data_dir}</dd>
        <dt>Key storage</dt>
        <dd>{s.key_storage === 'keyring' ? 'System keyring (opens without a passphrase)' : 'Passphrase (asked each time)'}</dd>
        <dt>Tenant</dt>
        <dd class="mono">{s.tenant_id}</dd>
        <dt>This device</dt>
        <dd class="mono">{s.device_id}</dd>
      </dl>
      <ErrorBox error={error && error.field !== 'code' && error.field !== 'region' ? error : null} />
      <Field label="Default phone region" name="region" error={fieldError(error, 'code', 'region')} hint="Numbers typed without a country code are read as this country.">
        {(a) => (
          <select {...a} class="select" style={{ maxWidth: '320px' }} data-testid="settings-region" value={s.region} onChange={(e) => void setRegion(inputValue(e))}>
            {regionChoices(s.region).map((r) => (
              <option key={r.code} value={r.code}>
                {r.name} ({r.code})
              </option>
            ))}
          </select>
        )}
      </Field>
    </section>
  );
}

function AiCard(props: { settings: SettingsDto; onSaved: () => void }) {
  const s = props.settings;
  const [endpoint, setEndpoint] = useState(s.ai_endpoint ?? '');
  const [model, setModel] = useState(s.ai_model ?? '');
  const [key, setKey] = useState('');
  const [removeKey, setRemoveKey] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const apiKey = removeKey ? '' : key === '' ? undefined : key;
      await api.settingsSetAi({ endpoint: endpoint.trim(), model: model.trim(), ...(apiKey === undefined ? {} : { api_key: apiKey }) });
      setKey('');
      setRemoveKey(false);
      pushToast('success', 'AI settings saved');
      props.onSaved();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };
  const inline = ['endpoint', 'model', 'api_key'];
  return (
    <form class="card form" onSubmit={save} noValidate aria-labelledby="ai-h">
      <div>
        <h2 id="ai-h">AI assistant</h2>
        <p class="muted small">Used by plugins that suggest next steps. Client data is sent to this service only when such a plugin runs.</p>
      </div>
      <ErrorBox error={error && !(error.field && inline.includes(error.field)) ? error : null} />
      <div class="form-grid">
        <Field label="Endpoint" name="endpoint" error={fieldError(error, 'endpoint')} hint="An OpenAI-compatible API address. Empty: off.">
          {(a) => <input {...a} class="input" placeholder="https://api.example.com/v1" data-testid="settings-ai-endpoint" value={endpoint} onInput={(e) => setEndpoint(inputValue(e))} />}
        </Field>
        <Field label="Model" name="model" error={fieldError(error, 'model')} hint="Empty: the service’s default.">
          {(a) => <input {...a} class="input" data-testid="settings-ai-model" value={model} onInput={(e) => setModel(inputValue(e))} />}
        </Field>
        <Field label="API key" name="api_key" error={fieldError(error, 'api_key')} hint={s.ai_key_set ? 'A key is stored. Leave empty to keep it.' : 'No key stored.'}>
          {(a) => (
            <input
              {...a}
              class="input"
              type="password"
              autocomplete="off"
              placeholder={s.ai_key_set ? '••••••••' : ''}
              data-testid="settings-ai-key"
              value={key}
              disabled={removeKey}
              onInput={(e) => setKey(inputValue(e))}
            />
          )}
        </Field>
        {s.ai_key_set && (
          <label class="check" style={{ alignSelf: 'center' }}>
            <input type="checkbox" checked={removeKey} onChange={(e) => setRemoveKey((e.currentTarget as HTMLInputElement).checked)} />
            <span>Remove the stored key</span>
          </label>
        )}
      </div>
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" data-testid="settings-ai-save" disabled={busy}>
          {busy ? 'Saving…' : 'Save'}
        </button>
      </div>
    </form>
  );
}

function DeveloperCard(props: { settings: SettingsDto; onSaved: () => void }) {
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const toggle = async (on: boolean) => {
    setBusy(true);
    setError(null);
    try {
      await api.settingsSetDeveloperMode(on);
      props.onSaved();
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="dev-h">
      <h2 id="dev-h">Developer mode</h2>
      <div class="alert alert-warn">
        Developer mode lets you install unsigned plugins. Unsigned code has not been checked by anyone: turn this on only to
        write or test your own plugins.
      </div>
      <ErrorBox error={error} />
      <label class="check">
        <input type="checkbox" data-testid="settings-developer-mode" disabled={busy} checked={props.settings.developer_mode} onChange={(e) => void toggle((e.currentTarget as HTMLInputElement).checked)} />
        <span>Allow unsigned plugins</span>
      </label>
    </section>
  );
}
