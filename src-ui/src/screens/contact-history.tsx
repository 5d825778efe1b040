// A contact's history: every change, newest first, with who made it (a
// colleague by email and the device they used) and each field before and
// after. Closed until asked for, so opening a contact stays quick.

import { useState } from 'preact/hooks';
import * as api from '../api';
import { LoadError, Loading } from '../components/ui';
import { actionWords, changeWords } from '../lib/history';
import { formatInstant } from '../lib/dates';
import { useLoader } from '../state/use-loader';

export function HistoryCard(props: { contactId: string; version: unknown }) {
  const [open, setOpen] = useState(false);
  return (
    <section class="card" aria-labelledby="history-h" data-testid="contact-history">
      <div class="row">
        <h2 id="history-h" class="spacer">
          History
        </h2>
        <button type="button" class="btn btn-sm" data-testid="history-toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? 'Hide' : 'Show who changed what'}
        </button>
      </div>
      {open && <HistoryList contactId={props.contactId} version={props.version} />}
    </section>
  );
}

function HistoryList(props: { contactId: string; version: unknown }) {
  // `version` is the contact page's data: a new one (after an edit here,
  // or a change that arrived from another device) loads the history again.
  const history = useLoader(() => api.contactHistory(props.contactId), [props.contactId, props.version]);
  if (!history.data) {
    return history.error ? <LoadError error={history.error} onRetry={() => void history.reload()} /> : <Loading />;
  }
  if (history.data.length === 0) return <p class="muted">No changes recorded.</p>;
  return (
    <ul class="timeline">
      {history.data.map((e, i) => (
        <li key={`${e.at}/${i}`} data-testid="history-item">
          <span class="timeline-meta">
            {actionWords(e.action)} · {formatInstant(e.at)} · <span data-testid="history-who">{e.who}</span>
          </span>
          {e.changes.length > 0 && (
            <ul class="history-changes">
              {e.changes.map((c) => (
                <li key={c.field}>{changeWords(c)}</li>
              ))}
            </ul>
          )}
        </li>
      ))}
    </ul>
  );
}
