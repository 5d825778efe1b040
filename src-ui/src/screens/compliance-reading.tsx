// My reading: the policies I am asked to read and sign, by when, and where
// I stand with each; each opens in the document viewer, and "I have read
// and understood" acknowledges the version in force (offline too: it is
// sent at the next sync).

import { useState } from 'preact/hooks';
import * as api from '../api';
import type { ReadingDto } from '../bindings';
import { ComplianceTabs } from '../components/compliance';
import { Badge, EmptyState, LoadError, Loading, PageHeader } from '../components/ui';
import { toApiError } from '../lib/api-error';
import { ACK_LABEL, ACK_TONE } from '../lib/compliance';
import { formatDate, formatInstant } from '../lib/dates';
import { routeHref } from '../lib/route';
import { testId } from '../lib/testid';
import { useComplianceMeta } from '../state/compliance';
import { pushToast } from '../state/toasts';
import { useLoader } from '../state/use-loader';

export function ReadingScreen() {
  const meta = useComplianceMeta();
  const mine = useLoader(() => api.complianceMine(), [], { live: true });
  const list = mine.data;
  const linked = meta?.access.staff_id != null;
  return (
    <div class="page">
      <PageHeader title="My reading" subtitle="Policies you are asked to read, and to confirm you have understood." />
      <ComplianceTabs current="compliance-reading" access={meta?.access ?? null} />
      <LoadError error={mine.error} onRetry={() => void mine.reload()} />
      {!list && !mine.error && <Loading />}
      {list && list.length === 0 && (
        <EmptyState title="Nothing to read and sign" testid="reading-empty">
          {meta && !linked ? 'Your account is not linked to a staff record: ask an admin to link it, and the policies asked of you show here.' : 'When a policy is assigned to you, it shows here.'}
        </EmptyState>
      )}
      {list && list.length > 0 && (
        <ul class="reading-list">
          {list.map((r) => (
            <ReadingItem key={r.policy.doc_id} item={r} statement={meta?.ack_statement ?? 'I have read and understood'} onSigned={() => void mine.reload()} />
          ))}
        </ul>
      )}
    </div>
  );
}

function ReadingItem(props: { item: ReadingDto; statement: string; onSigned: () => void }) {
  const r = props.item;
  const p = r.policy;
  const [busy, setBusy] = useState(false);
  const sign = async () => {
    setBusy(true);
    try {
      const a = await api.complianceAcknowledge(p.doc_id);
      pushToast('success', `${p.title}: version ${a.version} acknowledged`);
      props.onSigned();
    } catch (e) {
      pushToast('error', toApiError(e).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <li class="card reading-item" data-testid={testId('reading', p.doc_id)}>
      <div class="spacer stack-sm">
        <strong>{p.title}</strong>
        <div class="row small">
          <Badge tone={ACK_TONE[r.state]} testid={testId('reading-state', p.doc_id)}>
            {ACK_LABEL[r.state]}
          </Badge>
          <span class="muted">
            {r.state === 'done' && r.at ? `Signed ${formatInstant(r.at)} (v${r.version ?? '?'})` : `Due ${formatDate(r.due)}`}
            {p.live_version !== null ? ` · version ${p.live_version} in force` : ''}
          </span>
        </div>
      </div>
      <div class="row">
        {p.live_version !== null && (
          <a class="btn" href={routeHref({ name: 'doc-view', id: p.doc_id, version: p.live_version, page: 1 })} data-testid={testId('reading-open', p.doc_id)}>
            Read it
          </a>
        )}
        {r.state !== 'done' && (
          <button type="button" class="btn btn-primary" data-testid={testId('reading-sign', p.doc_id)} disabled={busy} onClick={() => void sign()}>
            {props.statement}
          </button>
        )}
      </div>
    </li>
  );
}
