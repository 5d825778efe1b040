// Payments: policies in arrears today, with the total owed.

import * as api from '../api';
import { EmptyState, LoadError, Loading, PageHeader } from '../components/ui';
import { formatDate } from '../lib/dates';
import { formatMoney } from '../lib/money';
import { useLoader } from '../state/use-loader';

export function PaymentsScreen() {
  const data = useLoader(() => api.arrears(), [], { live: true });
  const rows = data.data;
  const total = rows?.reduce((s, r) => s + r.outstanding_minor, 0) ?? 0;
  const instalments = rows?.reduce((s, r) => s + r.instalments, 0) ?? 0;
  return (
    <div class="page">
      <PageHeader title="Arrears" subtitle="Instalments due before today and not fully paid." />
      <LoadError error={data.error} onRetry={() => void data.reload()} />
      {!rows && !data.error && <Loading />}
      {rows && rows.length === 0 && (
        <EmptyState title="Nothing overdue" testid="arrears-empty">
          <p>Every scheduled premium has been paid.</p>
        </EmptyState>
      )}
      {rows && rows.length > 0 && (
        <>
          <div class="grid-3">
            <div class="card card-tight figure">
              <span class="figure-label">Owed in all</span>
              <span class="figure-value text-danger" data-testid="arrears-grand-total">
                {formatMoney(total)}
              </span>
            </div>
            <div class="card card-tight figure">
              <span class="figure-label">Policies</span>
              <span class="figure-value">{rows.length}</span>
            </div>
            <div class="card card-tight figure">
              <span class="figure-label">Instalments</span>
              <span class="figure-value">{instalments}</span>
            </div>
          </div>
          <div class="table-wrap">
            <table class="table">
              <thead>
                <tr>
                  <th>Holder</th>
                  <th>Policy</th>
                  <th class="num">Instalments</th>
                  <th>Oldest due</th>
                  <th class="num">Outstanding</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.policy_id} data-testid="arrears-row">
                    <td>
                      <a href={`#/contacts/${encodeURIComponent(r.contact_id)}`}>{r.contact_name}</a>
                    </td>
                    <td class="mono">{r.policy_number}</td>
                    <td class="num">{r.instalments}</td>
                    <td>{formatDate(r.oldest_due)}</td>
                    <td class="num">{formatMoney(r.outstanding_minor)}</td>
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <td colSpan={4}>Total</td>
                  <td class="num">{formatMoney(total)}</td>
                </tr>
              </tfoot>
            </table>
          </div>
        </>
      )}
    </div>
  );
}
