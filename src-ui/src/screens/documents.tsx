// The documents library: find a document (title or file name, status),
// page through thousands of them; admins add files or a folder with each
// file's progress and status as it is read, and open a document to manage
// it. Everyone sees only what their role and team may see.

import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import type { DocAddedDto, DocAddProgressDto } from '../bindings';
import { AudienceEditor } from '../components/audience';
import { Badge, EmptyState, ErrorBox, Field, LoadError, Loading, PageHeader, inputValue } from '../components/ui';
import { toApiError, type ApiError } from '../lib/api-error';
import { formatInstant } from '../lib/dates';
import { DOCUMENT_FILTERS, chooseFiles, chooseFolder } from '../lib/dialogs';
import { audienceLabel, pageLabel, stateLabel, STATUS_TONE } from '../lib/documents';
import { routeHref } from '../lib/route';
import { testId } from '../lib/testid';
import { pushToast } from '../state/toasts';
import { useLoader } from '../state/use-loader';

const PAGE = 50;

export function DocumentsScreen() {
  const [text, setText] = useState('');
  const [status, setStatus] = useState('');
  const [offset, setOffset] = useState(0);
  const [adding, setAdding] = useState(false);
  const page = useLoader(() => api.docsList({ text: text.trim() === '' ? null : text, status: status === '' ? null : status, offset, limit: PAGE }), [text, status, offset], {
    live: true,
  });
  const data = page.data;
  return (
    <div class="stack">
      <PageHeader title="Documents" subtitle="The agency's policies, procedures and guides: ask them anything from the Ask screen.">
        <a class="btn" href="#/ask" data-testid="docs-go-ask">
          Ask the documents
        </a>
        {data?.admin && (
          <button type="button" class="btn btn-primary" data-testid="docs-add-open" onClick={() => setAdding(!adding)}>
            {adding ? 'Close' : 'Add documents'}
          </button>
        )}
      </PageHeader>
      {adding && <AddPanel onAdded={() => void page.reload()} />}
      <div class="card">
        <div class="row filters">
        <input
          class="input spacer"
          type="search"
          placeholder="Find by title or file name"
          aria-label="Find by title or file name"
          data-testid="docs-filter"
          value={text}
          onInput={(e) => {
            setText(inputValue(e));
            setOffset(0);
          }}
        />
        <select
          class="input"
          aria-label="Status"
          data-testid="docs-status"
          value={status}
          onChange={(e) => {
            setStatus(inputValue(e));
            setOffset(0);
          }}
        >
          <option value="">Any status</option>
          <option value="published">Published</option>
          <option value="draft">Draft</option>
          <option value="retired">Retired</option>
        </select>
        </div>
      </div>
      <LoadError error={page.error} onRetry={() => void page.reload()} />
      {!data && !page.error && <Loading />}
      {data && data.documents.length === 0 && (
        <EmptyState title={text || status ? 'No document matches' : 'No documents yet'} testid="docs-empty">
          {data.admin ? 'Add the agency’s policies and procedures with “Add documents”.' : 'Your agency has not shared any documents with you yet.'}
        </EmptyState>
      )}
      {data && data.documents.length > 0 && (
        <div class="card">
          <table class="table" data-testid="docs-table">
            <thead>
              <tr>
                <th>Title</th>
                <th>Status</th>
                <th>Who can see it</th>
                <th>Version</th>
                <th>Changed</th>
              </tr>
            </thead>
            <tbody>
              {data.documents.map((d) => (
                <tr key={d.id} data-testid={testId('docs-row', d.id)}>
                  <td>
                    <a href={routeHref({ name: 'document', id: d.id })} data-testid={testId('docs-open', d.id)}>
                      {d.title}
                    </a>
                    <div class="muted small">{d.file_name}</div>
                  </td>
                  <td>
                    <Badge tone={STATUS_TONE[d.status] ?? 'plain'} testid={testId('docs-status', d.id)}>
                      {stateLabel(d.status)}
                    </Badge>{' '}
                    {d.state !== 'indexed' && (
                      <Badge tone={STATUS_TONE[d.state] ?? 'plain'} title={d.reason ?? undefined}>
                        {stateLabel(d.state)}
                      </Badge>
                    )}
                  </td>
                  <td>{d.audience.map(audienceLabel).join(', ')}</td>
                  <td>v{d.live_version ?? d.latest_version}</td>
                  <td>{formatInstant(d.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div class="row pager">
            <span class="muted spacer" data-testid="docs-count">
              {pageLabel(offset, data.documents.length, data.total)}
            </span>
            <button type="button" class="btn" data-testid="docs-prev" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              Previous
            </button>
            <button
              type="button"
              class="btn"
              data-testid="docs-next"
              disabled={offset + data.documents.length >= data.total}
              onClick={() => setOffset(offset + PAGE)}
            >
              Next
            </button>
          </div>
        </div>
      )}
    </div>
  );
}

/** Add files or a folder: each file's status as it is read, cancel between files. */
function AddPanel(props: { onAdded: () => void }) {
  const [paths, setPaths] = useState('');
  const [audience, setAudience] = useState<string[]>(['everyone']);
  const [draft, setDraft] = useState(false);
  const [note, setNote] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [running, setRunning] = useState(false);
  const [progress, setProgress] = useState<DocAddProgressDto | null>(null);
  const [results, setResults] = useState<DocAddedDto[]>([]);

  useEffect(() => {
    const off = api.onDocsProgress((p) => {
      setProgress(p);
      setResults((r) => [...r, p.last]);
    });
    return () => void off.then((f) => f());
  }, []);

  const list = () =>
    paths
      .split('\n')
      .map((p) => p.trim())
      .filter((p) => p !== '');

  const browseFiles = async () => {
    try {
      const picked = await chooseFiles(DOCUMENT_FILTERS, 'Choose documents to add');
      if (picked.length > 0) setPaths([...list(), ...picked].join('\n'));
    } catch (e) {
      setError(toApiError(e));
    }
  };
  const browseFolder = async () => {
    try {
      const picked = await chooseFolder('Choose a folder of documents');
      if (picked) setPaths([...list(), picked].join('\n'));
    } catch (e) {
      setError(toApiError(e));
    }
  };

  const run = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setResults([]);
    setProgress(null);
    setRunning(true);
    try {
      const done = await api.docsAdd({ paths: list(), audience, draft, change_note: note.trim() === '' ? null : note });
      setResults(done);
      const failed = done.filter((d) => d.status === 'failed' || d.status === 'skipped').length;
      pushToast(failed > 0 ? 'warning' : 'success', `${done.length - failed} of ${done.length} files added`);
      props.onAdded();
    } catch (err) {
      const ae = toApiError(err);
      if (ae.code === 'cancelled') pushToast('info', 'Stopped: the files read so far are kept');
      else setError(ae);
      props.onAdded();
    } finally {
      setRunning(false);
    }
  };

  return (
    <form class="card form" onSubmit={run} noValidate data-testid="docs-add">
      <h2>Add documents</h2>
      <ErrorBox error={error && error.field !== 'paths' ? error : null} />
      <p class="muted">
        PDF, Word (.docx), Markdown, HTML and text files; a folder adds every such file in it. A file with the name of a document already here becomes
        its next version.
      </p>
      <Field label="Files or folders (one per line)" name="paths" error={error?.field === 'paths' ? error.message : null}>
        {(a) => (
          <div class="stack">
            <textarea
              {...a}
              class="input"
              rows={3}
              placeholder="/home/you/Policies"
              data-testid="docs-paths"
              value={paths}
              onInput={(e) => setPaths(inputValue(e))}
            />
            <div class="row">
              <button type="button" class="btn" data-testid="docs-browse-files" onClick={() => void browseFiles()}>
                Choose files…
              </button>
              <button type="button" class="btn" data-testid="docs-browse-folder" onClick={() => void browseFolder()}>
                Choose a folder…
              </button>
            </div>
          </div>
        )}
      </Field>
      <AudienceEditor value={audience} onChange={setAudience} testid="docs-add-audience" />
      <label class="check">
        <input type="checkbox" data-testid="docs-add-draft" checked={draft} onChange={() => setDraft(!draft)} />
        Keep as drafts (publish them later)
      </label>
      <Field label="What changed (for new versions)" name="change_note">
        {(a) => <input {...a} class="input" data-testid="docs-add-note" value={note} onInput={(e) => setNote(inputValue(e))} />}
      </Field>
      <div class="form-actions">
        {running ? (
          <button type="button" class="btn btn-danger" data-testid="docs-add-cancel" onClick={() => void api.docsAddCancel()}>
            Stop after this file
          </button>
        ) : (
          <button type="submit" class="btn btn-primary" data-testid="docs-add-go" disabled={list().length === 0 || audience.length === 0}>
            Add
          </button>
        )}
      </div>
      {(running || results.length > 0) && (
        <div aria-live="polite" data-testid="docs-add-progress">
          {progress && running && (
            <>
              <progress class="progress" max={progress.total} value={progress.done} />
              <div class="muted">
                {progress.done} of {progress.total} files read
              </div>
            </>
          )}
          {running && !progress && <Loading label="Reading the first file…" />}
          <ul class="plain-list">
            {results.map((r) => (
              <li key={r.path} data-testid="docs-added">
                <Badge tone={STATUS_TONE[r.status] ?? 'plain'}>{stateLabel(r.status)}</Badge> {r.path.split(/[\\/]/).pop()}
                {r.version !== null && r.status !== 'failed' && <span class="muted"> · v{r.version}, {r.pages} pages</span>}
                {r.reason && <div class="muted small">{r.reason}</div>}
              </li>
            ))}
          </ul>
        </div>
      )}
    </form>
  );
}
