// The admin console's people and devices: invite someone (a one-time
// password to pass on, shown once), change a role or team, disable or
// enable an account, give a new one-time password; see each device (last
// seen, app version) and revoke one; and the changes made to both. The
// server decides who may; these screens show to admins only.

import { useState } from 'preact/hooks';
import * as api from '../api';
import type { AdminDeviceDto, AdminUserDto, OneTimePasswordDto } from '../bindings';
import { Badge, ErrorBox, Field, LoadError, Loading, Modal, inputValue } from '../components/ui';
import { fieldError, toApiError, type ApiError } from '../lib/api-error';
import { formatInstant } from '../lib/dates';
import { testId } from '../lib/testid';
import { pushToast } from '../state/toasts';
import { useLoader } from '../state/use-loader';

const ROLES = ['agent', 'admin'];

function seen(at: string | null): string {
  return at ? formatInstant(at) : 'never';
}

export function PeopleTab() {
  const users = useLoader(() => api.adminUsers(), []);
  const me = useLoader(() => api.syncStatus(), []).data?.email ?? null;
  const [otp, setOtp] = useState<OneTimePasswordDto | null>(null);
  return (
    <div class="stack">
      <InviteForm
        onInvited={(p) => {
          setOtp(p);
          void users.reload();
        }}
      />
      <LoadError error={users.error} onRetry={() => void users.reload()} />
      {!users.data && !users.error && <Loading />}
      {users.data && (
        <div class="card" data-testid="agency-people">
          <table class="table">
            <thead>
              <tr>
                <th>Person</th>
                <th>Role</th>
                <th>Team</th>
                <th>Last seen</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {users.data.map((u) => (
                <UserRow key={u.id} user={u} me={u.email === me} onChanged={() => void users.reload()} onPassword={setOtp} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {otp && <PasswordShown otp={otp} onClose={() => setOtp(null)} />}
    </div>
  );
}

function InviteForm(props: { onInvited: (p: OneTimePasswordDto) => void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState('agent');
  const [team, setTeam] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const p = await api.adminInvite(email.trim(), role, team.trim() === '' ? null : team.trim());
      setEmail('');
      setTeam('');
      props.onInvited(p);
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card form stack-sm" onSubmit={submit} noValidate data-testid="agency-invite">
      <h2>Invite someone</h2>
      <ErrorBox error={error && error.field !== 'email' ? error : null} />
      <div class="row wrap">
        <Field label="Email" name="email" error={fieldError(error, 'email')}>
          {(a) => <input {...a} class="input" type="email" data-testid="invite-email" value={email} onInput={(e) => setEmail(inputValue(e))} />}
        </Field>
        <Field label="Role" name="role">
          {(a) => (
            <select {...a} class="input" data-testid="invite-role" value={role} onChange={(e) => setRole(inputValue(e))}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Team" name="team" hint="Optional: agents see their team's records.">
          {(a) => <input {...a} class="input" data-testid="invite-team" value={team} onInput={(e) => setTeam(inputValue(e))} />}
        </Field>
      </div>
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" data-testid="invite-send" disabled={busy || email.trim() === ''}>
          {busy ? 'Inviting…' : 'Invite'}
        </button>
      </div>
    </form>
  );
}

function UserRow(props: { user: AdminUserDto; me: boolean; onChanged: () => void; onPassword: (p: OneTimePasswordDto) => void }) {
  const u = props.user;
  const [team, setTeam] = useState(u.team ?? '');
  const [error, setError] = useState<ApiError | null>(null);
  const change = async (args: Parameters<typeof api.adminSetUser>[1], what: string) => {
    const self = props.me && (args.disabled === true || (args.role !== undefined && args.role !== 'admin'));
    if (self && !window.confirm('This is your own account: you would lose the admin console. Go on?')) return;
    setError(null);
    try {
      await api.adminSetUser(u.id, args);
      props.onChanged();
      pushToast('success', `${u.email}: ${what}.`);
    } catch (e) {
      setError(toApiError(e));
    }
  };
  const reset = async () => {
    if (!window.confirm(`Give ${u.email} a new one-time password? Their devices are signed out.`)) return;
    try {
      props.onPassword(await api.adminResetPassword(u.id));
    } catch (e) {
      setError(toApiError(e));
    }
  };
  return (
    <tr data-testid={testId('person', u.email)}>
      <td>
        <strong>{u.email}</strong>{' '}
        {u.disabled && <Badge tone="danger">Disabled</Badge>} {u.invite_pending && <Badge tone="plain">Has a one-time password</Badge>}
        <div class="muted small">
          {u.devices} device{u.devices === 1 ? '' : 's'}
        </div>
        <ErrorBox error={error} />
      </td>
      <td>
        <select class="input" aria-label="Role" data-testid={testId('person-role', u.email)} value={u.role} onChange={(e) => void change({ role: inputValue(e) }, `now ${inputValue(e)}`)}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </td>
      <td>
        <div class="row">
          <input class="input" aria-label="Team" style={{ width: '8em' }} data-testid={testId('person-team', u.email)} value={team} onInput={(e) => setTeam(inputValue(e))} />
          {team !== (u.team ?? '') && (
            <button type="button" class="btn btn-sm" onClick={() => void change({ team }, team === '' ? 'in no team' : `in team ${team}`)}>
              Save
            </button>
          )}
        </div>
      </td>
      <td class="small">{seen(u.last_seen)}</td>
      <td class="row">
        <button type="button" class="btn btn-sm" data-testid={testId('person-reset', u.email)} onClick={() => void reset()}>
          New password
        </button>
        {u.disabled ? (
          <button type="button" class="btn btn-sm" data-testid={testId('person-enable', u.email)} onClick={() => void change({ disabled: false }, 'enabled')}>
            Enable
          </button>
        ) : (
          <button type="button" class="btn btn-sm btn-danger" data-testid={testId('person-disable', u.email)} onClick={() => void change({ disabled: true }, 'disabled')}>
            Disable
          </button>
        )}
      </td>
    </tr>
  );
}

/** A one-time password, shown once: the admin passes it on privately. */
function PasswordShown(props: { otp: OneTimePasswordDto; onClose: () => void }) {
  return (
    <Modal title={`One-time password for ${props.otp.email}`} onClose={props.onClose}>
      <p>Pass it on privately (not by email). It works for one sign-in, until {formatInstant(props.otp.expires_at)}; then they choose their own.</p>
      <p>
        <code class="mono" data-testid="otp-password" style={{ fontSize: '1.3em' }}>
          {props.otp.password}
        </code>
      </p>
      <p class="muted small">It is not shown again.</p>
      <div class="form-actions">
        <button type="button" class="btn btn-primary" data-testid="otp-done" onClick={props.onClose}>
          Done
        </button>
      </div>
    </Modal>
  );
}

export function DevicesTab() {
  const devices = useLoader(() => api.adminDevices(), []);
  const me = useLoader(() => api.syncStatus(), []).data?.email ?? null;
  const [error, setError] = useState<ApiError | null>(null);
  const revoke = async (d: AdminDeviceDto) => {
    const mine = d.user_email === me ? ' It is one of your own devices: if it is this computer, this app stops syncing.' : '';
    if (!window.confirm(`Revoke ${d.name} (${d.user_email})? It can no longer sync; to use it again, make a new profile on it and sign in.${mine}`)) return;
    try {
      await api.adminRevokeDevice(d.id);
      void devices.reload();
      pushToast('success', `${d.name} is revoked.`);
    } catch (e) {
      setError(toApiError(e));
    }
  };
  return (
    <div class="stack">
      <LoadError error={devices.error} onRetry={() => void devices.reload()} />
      <ErrorBox error={error} />
      {!devices.data && !devices.error && <Loading />}
      {devices.data && (
        <div class="card" data-testid="agency-devices">
          <table class="table">
            <thead>
              <tr>
                <th>Device</th>
                <th>Whose</th>
                <th>Last seen</th>
                <th>App version</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {devices.data.map((d) => (
                <tr key={d.id} data-testid={testId('device', d.name)}>
                  <td>
                    {d.name} {d.revoked && <Badge tone="danger">Revoked</Badge>}
                  </td>
                  <td>{d.user_email}</td>
                  <td class="small">{seen(d.last_seen)}</td>
                  <td class="small">{d.app_version ?? '—'}</td>
                  <td>
                    {!d.revoked && (
                      <button type="button" class="btn btn-sm btn-danger" data-testid={testId('device-revoke', d.name)} onClick={() => void revoke(d)}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/** Changes to people and devices, newest first. */
export function PeopleAudit() {
  const rows = useLoader(() => api.adminAudit(), []);
  return (
    <div class="card stack-sm" data-testid="agency-people-audit">
      <h2>People and devices</h2>
      <LoadError error={rows.error} onRetry={() => void rows.reload()} />
      {rows.data && rows.data.length === 0 && <p class="muted">No changes yet.</p>}
      {rows.data && (
        <ul class="dry-list">
          {rows.data.map((a, i) => (
            <li key={i}>
              <span class="muted small">{formatInstant(a.at)}</span> {a.actor} {a.what}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
