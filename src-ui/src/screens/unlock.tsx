// Unlock: the profile exists and its key is behind a passphrase.

import { useState } from 'preact/hooks';
import * as api from '../api';
import type { ProfileState } from '../bindings';
import { ErrorBox, Field, inputValue } from '../components/ui';
import { toApiError, type ApiError } from '../lib/api-error';
import { refreshProfile, setProfile } from '../state/session';

export function UnlockScreen(props: { state: ProfileState }) {
  const [pass, setPass] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (pass === '') {
      setError({ code: 'invalid', message: 'enter your passphrase', field: 'passphrase' });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      setProfile(await api.profileUnlock(pass));
    } catch (err) {
      setError(toApiError(err));
      setPass('');
    } finally {
      setBusy(false);
    }
  };

  const inline = error && (error.code === 'wrong_passphrase' || error.field === 'passphrase') ? error.message : null;

  if (!props.state.needs_passphrase) {
    // The key is in the OS keyring: the profile opens without a passphrase,
    // unless reading the keyring failed (then `problem` says why).
    const problem = props.state.problem;
    return (
      <div class="gate">
        <div class="gate-card card">
          <h1>{problem ? 'Can’t open your profile' : 'Profile locked'}</h1>
          {problem ? (
            <div class="alert" role="alert" data-testid="form-error">
              {problem}
            </div>
          ) : (
            <p class="muted">Your encryption key is kept in this computer’s keyring.</p>
          )}
          <p class="muted small">
            {problem ? 'Make sure your desktop keyring is unlocked, then try again. ' : ''}Profile folder: <code>{props.state.data_dir}</code>
          </p>
          <div class="form-actions">
            <button type="button" class="btn btn-primary" data-testid="unlock-submit" onClick={() => void refreshProfile()}>
              {problem ? 'Try again' : 'Open'}
            </button>
          </div>
        </div>
      </div>
    );
  }

  return (
    <div class="gate">
      <form class="gate-card card form" onSubmit={submit} noValidate>
        <div class="stack-sm">
          <h1>Unlock</h1>
          <p class="muted">Enter your passphrase to open your client book.</p>
        </div>
        {props.state.problem && (
          <div class="alert alert-warn" role="alert">
            {props.state.problem}
          </div>
        )}
        <ErrorBox error={error && !inline ? error : null} />
        <Field label="Passphrase" name="passphrase" error={inline}>
          {(a) => (
            <input
              {...a}
              class="input"
              type="password"
              autocomplete="current-password"
              autofocus
              data-testid="unlock-passphrase"
              value={pass}
              onInput={(e) => setPass(inputValue(e))}
            />
          )}
        </Field>
        <button type="submit" class="btn btn-primary" data-testid="unlock-submit" disabled={busy}>
          {busy ? 'Unlocking…' : 'Unlock'}
        </button>
      </form>
    </div>
  );
}
