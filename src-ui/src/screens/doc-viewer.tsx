// A document's text, a page at a time, opened where a citation points: the
// cited passage is marked and scrolled into view. Pages are the file's own
// (PDF, Word); Markdown, HTML and text are one page.

import { useEffect, useRef } from 'preact/hooks';
import * as api from '../api';
import { LoadError, Loading, PageHeader } from '../components/ui';
import { splitSpan } from '../lib/documents';
import { routeHref } from '../lib/route';
import { useLoader } from '../state/use-loader';

export function DocViewerScreen(props: { id: string; version: number; page: number; start?: number; end?: number }) {
  const page = useLoader(() => api.docsPage(props.id, props.version, props.page), [props.id, props.version, props.page]);
  const mark = useRef<HTMLElement>(null);
  const p = page.data;
  useEffect(() => {
    mark.current?.scrollIntoView({ block: 'center' });
  }, [p, props.start, props.end]);
  if (page.error) return <LoadError error={page.error} onRetry={() => void page.reload()} />;
  if (!p) return <Loading />;
  // A span belongs to the page it was cited on.
  const cited = p.page === props.page;
  const [before, passage, after] = cited ? splitSpan(p.text, props.start, props.end) : [p.text, '', ''];
  const go = (n: number) => routeHref({ name: 'doc-view', id: p.document_id, version: p.version, page: n });
  return (
    <div class="stack">
      <PageHeader title={p.title} subtitle={p.paged ? `Version ${p.version} · page ${p.page} of ${p.pages}` : `Version ${p.version}`}>
        <a class="btn" href={routeHref({ name: 'document', id: p.document_id })}>
          About this document
        </a>
      </PageHeader>
      {p.paged && (
        <div class="row">
          <a class={`btn ${p.page <= 1 ? 'disabled' : ''}`} aria-disabled={p.page <= 1} href={go(Math.max(1, p.page - 1))} data-testid="viewer-prev">
            Previous page
          </a>
          <span class="muted" data-testid="viewer-page">
            Page {p.page} of {p.pages}
          </span>
          <a class={`btn ${p.page >= p.pages ? 'disabled' : ''}`} aria-disabled={p.page >= p.pages} href={go(Math.min(p.pages, p.page + 1))} data-testid="viewer-next">
            Next page
          </a>
        </div>
      )}
      <article class="card doc-page" data-testid="viewer-text">
        {before}
        {passage !== '' && (
          <mark ref={mark} class="cited" data-testid="viewer-mark">
            {passage}
          </mark>
        )}
        {after}
      </article>
    </div>
  );
}
