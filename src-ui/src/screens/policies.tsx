// Policies: renewals coming up in the next 30, 60 or 90 days.

import { useState } from 'preact/hooks';
import * as api from '../api';
import { Badge, EmptyState, LoadError, Loading, PageHeader, words } from '../components/ui';
import { formatDate } from '../lib/dates';
import { formatMoney } from '../lib/money';
import { useLoader } from '../state/use-loader';

const WINDOWS = [30, 60, 90];

function daysLeft(n: number): string {
  if (n < 0) return `${-n} ${n === -1 ? 'day' : 'days'} ago`;
  if (n === 0) return 'today';
  return `in ${n} ${n === 1 ? 'day' : 'days'}`;
}

export function PoliciesScreen() {
  const [days, setDays] = useState(30);
  const data = useLoader(() => api.renewals(days), [days], { live: true });
  const rows = data.data;
  return (
    <div class="page">
      <PageHeader title="Renewals" subtitle="Policies ending soon, soonest first.">
        <div class="tabs" role="tablist" aria-label="Window">
          {WINDOWS.map((w) => (
            <button key={w} type="button" role="tab" class="tab" aria-selected={days === w} data-testid={`renewals-${w}`} onClick={() => setDays(w)}>
              {w} days
            </button>
          ))}
        </div>
      </PageHeader>
      <LoadError error={data.error} onRetry={() => void data.reload()} />
      {!rows && !data.error && <Loading />}
      {rows && rows.length === 0 && (
        <EmptyState title={`No renewals in the next ${days} days`} testid="renewals-empty">
          <p>Policies appear here as their end date comes closer.</p>
        </EmptyState>
      )}
      {rows && rows.length > 0 && (
        <div class="table-wrap">
          <table class="table">
            <thead>
              <tr>
                <th>Holder</th>
                <th>Policy</th>
                <th>Cover</th>
                <th>Insurer</th>
                <th class="num">Premium</th>
                <th>Ends</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.policy.id} data-testid="renewal-row" class={r.days_left < 0 ? 'overdue' : ''}>
                  <td>
                    <a href={`#/contacts/${encodeURIComponent(r.policy.contact_id)}`}>{r.contact_name}</a>
                  </td>
                  <td class="mono">{r.policy.policy_number}</td>
                  <td>{r.policy.line_of_business}</td>
                  <td>{r.policy.carrier}</td>
                  <td class="num">
                    {formatMoney(r.policy.premium_minor, r.policy.currency)} <span class="muted">{words(r.policy.payment_frequency).toLowerCase()}</span>
                  </td>
                  <td>
                    {formatDate(r.policy.expiry_date)} <span class="muted small">({daysLeft(r.days_left)})</span>
                  </td>
                  <td>
                    <Badge tone={r.days_left <= 7 ? 'warn' : 'plain'}>{words(r.policy.status)}</Badge>
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
