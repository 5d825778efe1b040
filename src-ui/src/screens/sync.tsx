// Sync: sign in to the team server, see what is waiting, sync now.

import { useState } from 'preact/hooks';
import * as api from '../api';
import type { SetAsideDto, SyncStatusDto } from '../bindings';
import { ErrorBox, Field, LoadError, Loading, Modal, PageHeader, inputValue } from '../components/ui';
import { fieldError, toApiError, type ApiError } from '../lib/api-error';
import { formatInstant } from '../lib/dates';
import { navigate } from '../state/router';
import { pushToast } from '../state/toasts';
import { useLoader } from '../state/use-loader';

export function SyncScreen() {
  const data = useLoader(() => api.syncStatus(), [], { live: true });
  const s = data.data;
  return (
    <div class="page">
      <PageHeader title="Sync" subtitle="Share your book with your team through your firm’s server. You can keep working offline." />
      <LoadError error={data.error} onRetry={() => void data.reload()} />
      {!s && !data.error && <Loading />}
      {s && s.server && s.must_change_password && <NewPasswordForm onDone={() => void data.reload()} />}
      {s && (s.server ? <StatusCard status={s} onChanged={() => void data.reload()} /> : <LoginForm onDone={() => void data.reload()} />)}
      {s && s.quarantined > 0 && <SetAsideCard count={s.quarantined} onChanged={() => void data.reload()} />}
    </div>
  );
}

function StatusCard(props: { status: SyncStatusDto; onChanged: () => void }) {
  const s = props.status;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const sync = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await api.syncNow();
      pushToast('success', `Synced: ${r.pushed} sent, ${r.pulled} received${r.quarantined ? `, ${r.quarantined} set aside` : ''}`);
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
      props.onChanged();
    }
  };
  return (
    <section class="card" data-testid="sync-status">
      <div class="card-head">
        <h2>Signed in</h2>
        <button type="button" class="btn btn-primary" data-testid="sync-now" disabled={busy} onClick={() => void sync()}>
          {busy ? 'Syncing…' : 'Sync now'}
        </button>
      </div>
      <ErrorBox error={error} />
      <dl class="details">
        <dt>Server</dt>
        <dd class="mono">{s.server}</dd>
        <dt>Account</dt>
        <dd>{s.email ?? '—'}</dd>
        <dt>Last synced</dt>
        <dd>{s.last_success ? formatInstant(s.last_success) : 'Never'}</dd>
        <dt>Changes waiting</dt>
        <dd data-testid="sync-pending">{s.pending}</dd>
        <dt>Set aside</dt>
        <dd>
          {s.quarantined}
          {s.quarantined > 0 && <span class="muted small"> — changes the server refused; they are kept on this computer</span>}
        </dd>
        {s.held > 0 && (
          <>
            <dt>Held back</dt>
            <dd>
              {s.held}
              <span class="muted small"> — received records this computer cannot store yet; they are kept and tried again at every sync (an update of the app may be needed)</span>
            </dd>
          </>
        )}
      </dl>
      {s.last_error && (
        <div class="alert alert-warn">
          <strong>Last problem</strong>
          {s.last_error}
        </div>
      )}
    </section>
  );
}

/**
 * Signed in with the one-time password an admin gave: the server syncs
 * nothing until its owner chooses a password of their own.
 */
function NewPasswordForm(props: { onDone: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (next !== again) {
      setError({ code: 'invalid', message: 'The two new passwords differ.', field: 'again' });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.syncChangePassword(current, next);
      setCurrent('');
      setNext('');
      setAgain('');
      pushToast('success', 'Your password is set. Syncing starts now.');
      props.onDone();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };
  const inline = ['password', 'new_password', 'again'];
  return (
    <form class="card form" onSubmit={submit} noValidate style={{ maxWidth: '520px' }} data-testid="sync-new-password">
      <h2>Choose your own password</h2>
      <p class="muted">You signed in with a one-time password from your administrator. Nothing syncs until you choose a password of your own.</p>
      <ErrorBox error={error && !(error.field && inline.includes(error.field)) ? error : null} />
      <Field label="One-time password" name="password" error={fieldError(error, 'password')}>
        {(a) => <input {...a} class="input" type="password" autocomplete="current-password" data-testid="sync-otp" value={current} onInput={(e) => setCurrent(inputValue(e))} />}
      </Field>
      <Field label="New password" name="new_password" error={fieldError(error, 'new_password')} hint="At least 8 characters.">
        {(a) => <input {...a} class="input" type="password" autocomplete="new-password" data-testid="sync-new" value={next} onInput={(e) => setNext(inputValue(e))} />}
      </Field>
      <Field label="New password again" name="again" error={fieldError(error, 'again')}>
        {(a) => <input {...a} class="input" type="password" autocomplete="new-password" data-testid="sync-new-again" value={again} onInput={(e) => setAgain(inputValue(e))} />}
      </Field>
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" data-testid="sync-set-password" disabled={busy}>
          {busy ? 'Saving…' : 'Set my password'}
        </button>
      </div>
    </form>
  );
}

function LoginForm(props: { onDone: () => void }) {
  const [server, setServer] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.syncLogin({ server: server.trim(), email: email.trim(), password });
      setPassword('');
      pushToast('success', 'Signed in');
      props.onDone();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };
  const inline = ['server', 'email', 'password'];
  return (
    <form class="card form" onSubmit={submit} noValidate style={{ maxWidth: '520px' }}>
      <h2>Sign in</h2>
      <p class="muted">Not signed in: everything stays on this computer.</p>
      <ErrorBox error={error && !(error.field && inline.includes(error.field)) ? error : null} />
      <Field label="Server" name="server" error={fieldError(error, 'server')} hint="The address your administrator gave you.">
        {(a) => <input {...a} class="input" placeholder="https://crm.example.co.uk" data-testid="sync-server" value={server} onInput={(e) => setServer(inputValue(e))} />}
      </Field>
      <Field label="Email" name="email" error={fieldError(error, 'email')}>
        {(a) => <input {...a} class="input" type="email" autocomplete="username" data-testid="sync-email" value={email} onInput={(e) => setEmail(inputValue(e))} />}
      </Field>
      <Field label="Password" name="password" error={fieldError(error, 'password')} hint="Used to sign in, never stored.">
        {(a) => (
          <input {...a} class="input" type="password" autocomplete="current-password" data-testid="sync-password" value={password} onInput={(e) => setPassword(inputValue(e))} />
        )}
      </Field>
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" data-testid="sync-login" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </div>
    </form>
  );
}

/**
 * Changes the server refused, one by one: what they were, the server's
 * reason, and what can be done: send again (once the cause is fixed, e.g.
 * the server was upgraded) or give up (asked first: it is never sent).
 */
function SetAsideCard(props: { count: number; onChanged: () => void }) {
  const list = useLoader(() => api.syncSetAside(), [props.count], { live: true });
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [discarding, setDiscarding] = useState<SetAsideDto | null>(null);
  const act = async (a: SetAsideDto, how: 'retry' | 'discard') => {
    setBusy(a.op_id);
    setError(null);
    try {
      if (how === 'retry') {
        await api.syncRetry(a.op_id);
        pushToast('success', 'It will be sent again at the next sync');
      } else {
        await api.syncDiscard(a.op_id);
        pushToast('success', 'The change was given up');
      }
      setDiscarding(null);
      props.onChanged();
      void list.reload();
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(null);
    }
  };
  return (
    <section class="card" data-testid="set-aside">
      <h2>Changes the server refused</h2>
      <p class="muted">
        These changes were made on this computer but the server would not take them. They are kept here: send one again once the
        reason is dealt with, or give it up.
      </p>
      <LoadError error={list.error} onRetry={() => void list.reload()} />
      <ErrorBox error={error} />
      <ul class="set-aside-list">
        {(list.data ?? []).map((a) => (
          <li key={a.op_id} data-testid="set-aside-row" data-id={a.op_id}>
            <div>
              <strong>
                {a.what}
                {a.name ? `: ${a.name}` : ''}
              </strong>{' '}
              <span class="muted small">{formatInstant(a.at)}</span>
            </div>
            <div class="small" data-testid="set-aside-reason">
              {a.reason}
            </div>
            {a.fields.length > 0 && <div class="muted small mono">{a.fields.join(' · ')}</div>}
            <div class="form-actions">
              {a.contact_id && (
                <button type="button" class="btn btn-sm btn-ghost" onClick={() => navigate({ name: 'contact', id: a.contact_id ?? '' })}>
                  Open the contact
                </button>
              )}
              <button type="button" class="btn btn-sm" data-testid="set-aside-retry" disabled={busy !== null} onClick={() => void act(a, 'retry')}>
                {busy === a.op_id ? 'Working…' : 'Send again'}
              </button>
              <button type="button" class="btn btn-sm btn-danger" data-testid="set-aside-discard" disabled={busy !== null} onClick={() => setDiscarding(a)}>
                Give up
              </button>
            </div>
          </li>
        ))}
      </ul>
      {discarding && (
        <Modal title="Give up this change?" onClose={() => setDiscarding(null)} testid="discard-dialog">
          <p>
            It will never reach the server or your colleagues. The {discarding.what} keeps the value on this computer until someone
            changes it elsewhere.
          </p>
          <div class="form-actions">
            <button type="button" class="btn" onClick={() => setDiscarding(null)}>
              Keep it
            </button>
            <button type="button" class="btn btn-danger-solid" data-testid="confirm-discard" disabled={busy !== null} onClick={() => void act(discarding, 'discard')}>
              Give up the change
            </button>
          </div>
        </Modal>
      )}
    </section>
  );
}
