// First run: create the encrypted profile. With an OS keyring the key is kept
// there (nothing to remember); otherwise, or by choice, a passphrase.

import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import type { ProfileState } from '../bindings';
import { ErrorBox, Field, inputValue } from '../components/ui';
import { fieldError, toApiError, type ApiError } from '../lib/api-error';
import { REGIONS } from '../lib/regions';
import { setProfile } from '../state/session';

export const MIN_PASSPHRASE = 8;

export function FirstRunScreen(props: { state: ProfileState }) {
  const [keyring, setKeyring] = useState<boolean | null>(null);
  const [usePassphrase, setUsePassphrase] = useState(false);
  const [pass, setPass] = useState('');
  const [confirm, setConfirm] = useState('');
  const [region, setRegion] = useState('GB');
  const [local, setLocal] = useState<{ passphrase?: string; confirm?: string }>({});
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.keyringAvailable().then(
      (ok) => setKeyring(ok),
      () => setKeyring(false),
    );
  }, []);

  const passphraseMode = keyring === false || usePassphrase;

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (passphraseMode) {
      const problems: { passphrase?: string; confirm?: string } = {};
      if (pass.length < MIN_PASSPHRASE) problems.passphrase = `use at least ${MIN_PASSPHRASE} characters`;
      if (confirm !== pass) problems.confirm = 'the two passphrases do not match';
      setLocal(problems);
      if (problems.passphrase || problems.confirm) return;
    }
    setBusy(true);
    try {
      const state = await api.profileCreate(passphraseMode ? pass : null, region);
      setProfile(state);
    } catch (err) {
      const apiErr = toApiError(err);
      if (apiErr.code === 'keyring_unavailable') {
        setKeyring(false);
        setError({ ...apiErr, message: `${apiErr.message} — choose a passphrase instead.` });
      } else setError(apiErr);
    } finally {
      setBusy(false);
    }
  };

  const passErr = local.passphrase ?? fieldError(error, 'passphrase');
  const formError = error && !fieldError(error, 'passphrase') ? error : null;

  return (
    <div class="gate">
      <form class="gate-card card form" onSubmit={submit} noValidate>
        <div class="stack-sm">
          <h1>Welcome</h1>
          <p class="muted">
            Let’s set up your client book. Everything is stored encrypted in <code>{props.state.data_dir}</code>.
          </p>
        </div>
        {props.state.problem && (
          <div class="alert alert-warn" role="alert">
            {props.state.problem}
          </div>
        )}
        <ErrorBox error={formError} />

        {keyring === null ? (
          <p class="muted">Checking for a system keyring…</p>
        ) : passphraseMode ? (
          <>
            {keyring === false ? (
              <div class="alert alert-info">
                No system keyring is available, so your data will be protected by a passphrase. You will need it each
                time you open the app; it cannot be recovered if lost.
              </div>
            ) : (
              <p class="muted small">
                You will need this passphrase each time you open the app. It cannot be recovered if lost.{' '}
                <button type="button" class="link-button" onClick={() => setUsePassphrase(false)}>
                  Use the keyring instead
                </button>
              </p>
            )}
            <Field label="Passphrase" name="passphrase" error={passErr} hint={`At least ${MIN_PASSPHRASE} characters.`} required>
              {(a) => (
                <input
                  {...a}
                  class="input"
                  type="password"
                  autocomplete="new-password"
                  data-testid="passphrase"
                  value={pass}
                  onInput={(e) => setPass(inputValue(e))}
                />
              )}
            </Field>
            <Field label="Confirm passphrase" name="passphrase-confirm" error={local.confirm ?? null} required>
              {(a) => (
                <input
                  {...a}
                  class="input"
                  type="password"
                  autocomplete="new-password"
                  data-testid="passphrase-confirm"
                  value={confirm}
                  onInput={(e) => setConfirm(inputValue(e))}
                />
              )}
            </Field>
          </>
        ) : (
          <div class="alert alert-info">
            Your encryption key will be kept in this computer’s keyring, so there is no passphrase to remember.{' '}
            <button type="button" class="link-button" data-testid="use-passphrase" onClick={() => setUsePassphrase(true)}>
              Use a passphrase instead
            </button>
          </div>
        )}

        <Field label="Default phone region" name="region" hint="Phone numbers typed without a country code are read as this country.">
          {(a) => (
            <select {...a} class="select" data-testid="region" value={region} onChange={(e) => setRegion(inputValue(e))}>
              {REGIONS.map((r) => (
                <option key={r.code} value={r.code}>
                  {r.name} ({r.code})
                </option>
              ))}
            </select>
          )}
        </Field>

        <button type="submit" class="btn btn-primary" data-testid="create-profile" disabled={busy || keyring === null}>
          {busy ? 'Creating…' : 'Create my profile'}
        </button>
      </form>
    </div>
  );
}
