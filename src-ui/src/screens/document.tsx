// One document: its status, who can see it, its details and versions.
// Admins publish, retire, change the audience and details here; everyone
// else reads the version in force. Each version opens in the viewer.

import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import type { DocumentDto } from '../bindings';
import { AudienceEditor } from '../components/audience';
import { Badge, ErrorBox, Field, LoadError, Loading, PageHeader, inputValue } from '../components/ui';
import { toApiError, type ApiError } from '../lib/api-error';
import { formatInstant } from '../lib/dates';
import { audienceLabel, stateLabel, STATUS_TONE } from '../lib/documents';
import { routeHref } from '../lib/route';
import { testId } from '../lib/testid';
import { pushToast } from '../state/toasts';
import { useLoader } from '../state/use-loader';

export function DocumentScreen(props: { id: string }) {
  const doc = useLoader(() => api.docsGet(props.id), [props.id], { live: true });
  const versions = useLoader(() => api.docsVersions(props.id), [props.id], { live: true });
  const admin = useLoader(() => api.syncStatus(), []).data?.admin ?? false;
  const d = doc.data;
  const reload = () => {
    void doc.reload();
    void versions.reload();
  };
  if (doc.error) return <LoadError error={doc.error} onRetry={reload} />;
  if (!d) return <Loading />;
  return (
    <div class="stack">
      <PageHeader title={d.title} subtitle={d.file_name}>
        <a class="btn" href="#/documents">
          All documents
        </a>
        {d.live_version !== null && (
          <a class="btn" href={routeHref({ name: 'doc-view', id: d.id, version: d.live_version, page: 1 })} data-testid="doc-read">
            Read
          </a>
        )}
      </PageHeader>
      <div class="card">
        <div class="doc-facts-row">
          <Badge tone={STATUS_TONE[d.status] ?? 'plain'} testid="doc-status">
          {stateLabel(d.status)}
        </Badge>
        {d.state !== 'indexed' && (
          <Badge tone={STATUS_TONE[d.state] ?? 'plain'} testid="doc-state">
            {stateLabel(d.state)}
          </Badge>
        )}
        <span class="muted" data-testid="doc-audience">
          For {d.audience.map(audienceLabel).join(', ')}
        </span>
        {d.reason && <span class="muted">{d.reason}</span>}
        <span class="spacer" />
        {admin && <StatusButtons doc={d} onChanged={reload} />}
        </div>
      </div>
      {admin ? <AdminPanels doc={d} onChanged={reload} /> : <Facts doc={d} />}
      <section class="card">
        <h2>Versions</h2>
        <LoadError error={versions.error} onRetry={() => void versions.reload()} />
        {versions.data && (
          <table class="table" data-testid="doc-versions">
            <thead>
              <tr>
                <th>Version</th>
                <th>File</th>
                <th>Read</th>
                <th>What changed</th>
                <th>Added</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {versions.data.map((v) => (
                <tr key={v.version} data-testid={testId('doc-version', String(v.version))}>
                  <td>
                    v{v.version} {v.live && <Badge tone="ok">In force</Badge>}
                  </td>
                  <td>
                    {v.file_name}
                    <div class="muted small">
                      {v.kind}, {Math.max(1, Math.round(v.size / 1024)).toLocaleString('en-GB')} KB
                    </div>
                  </td>
                  <td>
                    <Badge tone={STATUS_TONE[v.state] ?? 'plain'} title={v.reason ?? undefined}>
                      {stateLabel(v.state)}
                    </Badge>
                    {v.state === 'indexed' && <span class="muted"> {v.pages} pages</span>}
                  </td>
                  <td>{v.change_note ?? ''}</td>
                  <td>
                    {formatInstant(v.added_at)}
                    <div class="muted small">{v.added_by}</div>
                  </td>
                  <td>
                    {v.state === 'indexed' && (
                      <a href={routeHref({ name: 'doc-view', id: d.id, version: v.version, page: 1 })} data-testid={testId('doc-open-version', String(v.version))}>
                        Open
                      </a>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function Facts(props: { doc: DocumentDto }) {
  const d = props.doc;
  return (
    <dl class="card facts">
      <dt>Owner</dt>
      <dd>{d.owner ?? '—'}</dd>
      <dt>In force from</dt>
      <dd>{d.effective_date ?? '—'}</dd>
      <dt>Next review</dt>
      <dd>{d.review_date ?? '—'}</dd>
    </dl>
  );
}

function StatusButtons(props: { doc: DocumentDto; onChanged: () => void }) {
  const [busy, setBusy] = useState(false);
  const act = async (what: 'publish' | 'retire') => {
    setBusy(true);
    try {
      const d = what === 'publish' ? await api.docsPublish(props.doc.id) : await api.docsRetire(props.doc.id);
      pushToast('success', `${d.title} is ${d.status}`);
      props.onChanged();
    } catch (e) {
      pushToast('error', toApiError(e).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      {props.doc.status !== 'published' && (
        <button type="button" class="btn btn-primary" data-testid="doc-publish" disabled={busy} onClick={() => void act('publish')}>
          Publish
        </button>
      )}
      {props.doc.status !== 'retired' && (
        <button type="button" class="btn btn-danger" data-testid="doc-retire" disabled={busy} onClick={() => void act('retire')}>
          Retire
        </button>
      )}
    </>
  );
}

function AdminPanels(props: { doc: DocumentDto; onChanged: () => void }) {
  const d = props.doc;
  const [audience, setAudience] = useState<string[]>(d.audience);
  const [title, setTitle] = useState(d.title);
  const [owner, setOwner] = useState(d.owner ?? '');
  const [effective, setEffective] = useState(d.effective_date ?? '');
  const [review, setReview] = useState(d.review_date ?? '');
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => setAudience(d.audience), [d.audience.join('\n')]);
  const same = audience.length === d.audience.length && audience.every((a) => d.audience.includes(a));
  const saveAudience = async () => {
    setError(null);
    try {
      await api.docsSetAudience(d.id, audience);
      pushToast('success', 'Audience saved: devices follow at their next sync');
      props.onChanged();
    } catch (e) {
      setError(toApiError(e));
    }
  };
  const saveDetails = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await api.docsSetDetails(d.id, { title, owner, effective_date: effective, review_date: review });
      pushToast('success', 'Details saved');
      props.onChanged();
    } catch (err) {
      setError(toApiError(err));
    }
  };
  const fieldErr = (f: string) => (error?.field === f ? error.message : null);
  return (
    <div class="grid-2">
      <section class="card">
        <AudienceEditor value={audience} onChange={setAudience} testid="doc-audience-edit" />
        <div class="form-actions">
          <button type="button" class="btn btn-primary" data-testid="doc-audience-save" disabled={same || audience.length === 0} onClick={() => void saveAudience()}>
            Save audience
          </button>
        </div>
      </section>
      <form class="card form" onSubmit={saveDetails} noValidate>
        <ErrorBox error={error && !['title', 'owner', 'effective', 'review'].includes(error.field ?? '') ? error : null} />
        <Field label="Title" name="title" error={fieldErr('title')}>
          {(a) => <input {...a} class="input" data-testid="doc-title" value={title} onInput={(e) => setTitle(inputValue(e))} />}
        </Field>
        <Field label="Owner" name="owner" error={fieldErr('owner')}>
          {(a) => <input {...a} class="input" data-testid="doc-owner" value={owner} onInput={(e) => setOwner(inputValue(e))} />}
        </Field>
        <Field label="In force from" name="effective" error={fieldErr('effective')}>
          {(a) => <input {...a} class="input" type="date" data-testid="doc-effective" value={effective} onInput={(e) => setEffective(inputValue(e))} />}
        </Field>
        <Field label="Next review" name="review" error={fieldErr('review')}>
          {(a) => <input {...a} class="input" type="date" data-testid="doc-review" value={review} onInput={(e) => setReview(inputValue(e))} />}
        </Field>
        <div class="form-actions">
          <button type="submit" class="btn" data-testid="doc-details-save">
            Save details
          </button>
        </div>
      </form>
    </div>
  );
}
