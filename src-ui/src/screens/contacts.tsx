// The contacts list: virtualised (fixed row height, only the visible rows
// plus overscan in the DOM), fetched in pages of 200 and cached by page, so
// 100,000 contacts scroll as smoothly as 100.

import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import * as api from '../api';
import type { ContactQueryArgs, ContactRow } from '../bindings';
import { Badge, EmptyState, LoadError, Options, PageHeader, inputValue, words } from '../components/ui';
import { toApiError, type ApiError } from '../lib/api-error';
import { PageCache } from '../lib/page-cache';
import { scrollToReveal, visibleRows } from '../lib/virtual-window';
import { arrivals } from '../state/arrivals';
import { navigate } from '../state/router';
import { EMPTY_META, meta } from '../state/session';

export const ROW_HEIGHT = 44;
const OVERSCAN = 10;
const PAGE_SIZE = 200;
const MAX_PAGES = 60;
const SEARCH_DEBOUNCE_MS = 200;

type Filters = { search: string; stage: string; owner: string; tag: string };

/** Kept while the app runs, so coming back from a contact keeps the place. */
const memory = { filters: { search: '', stage: '', owner: '', tag: '' } as Filters, scrollTop: 0, selected: 0 };

function toQuery(f: Filters): Omit<ContactQueryArgs, 'offset' | 'limit'> {
  const q: Omit<ContactQueryArgs, 'offset' | 'limit'> = {};
  const search = f.search.trim();
  if (search) q.search = search;
  if (f.stage) q.stage = f.stage;
  if (f.owner) q.owner = f.owner;
  if (f.tag) q.tag = f.tag;
  return q;
}

export function ContactsScreen() {
  const m = meta.value ?? EMPTY_META;
  const [filters, setFilters] = useState<Filters>(memory.filters);
  const [searchText, setSearchText] = useState(memory.filters.search);
  const [total, setTotal] = useState<number | null>(null);
  const listRef = useRef<HTMLDivElement>(null);

  // Search as you type, once typing pauses.
  useEffect(() => {
    if (searchText === filters.search) return;
    const t = setTimeout(() => setFilters((f) => ({ ...f, search: searchText })), SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [searchText, filters.search]);

  useEffect(() => {
    memory.filters = filters;
  }, [filters]);

  const set = (key: keyof Filters) => (e: Event) => {
    const value = inputValue(e);
    setFilters((f) => ({ ...f, [key]: value }));
  };
  const filtered = Boolean(filters.search.trim() || filters.stage || filters.owner || filters.tag);
  const clear = () => {
    setSearchText('');
    setFilters({ search: '', stage: '', owner: '', tag: '' });
  };

  return (
    <div class="contacts-page">
      <PageHeader title="Contacts">
        <span class="muted" data-testid="contacts-total" aria-live="polite">
          {total === null ? 'Loading…' : `${total} ${total === 1 ? 'contact' : 'contacts'}${filtered ? ' match' : ''}`}
        </span>
        <a class="btn" href="#/import">
          Import CSV
        </a>
        <button type="button" class="btn btn-primary" data-testid="new-contact" onClick={() => navigate({ name: 'contact-new' })}>
          New contact
        </button>
      </PageHeader>
      <div class="toolbar" role="search">
        <input
          class="input"
          type="search"
          placeholder="Search name, company, email or phone"
          aria-label="Search contacts"
          data-testid="contacts-search"
          value={searchText}
          onInput={(e) => setSearchText(inputValue(e))}
          onKeyDown={(e) => {
            if (e.key === 'ArrowDown' || e.key === 'Enter') {
              e.preventDefault();
              listRef.current?.focus();
            }
          }}
        />
        <select class="select" aria-label="Stage" data-testid="contacts-stage" value={filters.stage} onChange={set('stage')}>
          <Options values={m.stages} blank="All stages" />
        </select>
        <select class="select" aria-label="Owner" data-testid="contacts-owner" value={filters.owner} onChange={set('owner')}>
          <option value="">All owners</option>
          {m.owners.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
        <select class="select" aria-label="Tag" data-testid="contacts-tag" value={filters.tag} onChange={set('tag')}>
          <option value="">All tags</option>
          {m.tags.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        {filtered && (
          <button type="button" class="btn btn-ghost" onClick={clear}>
            Clear filters
          </button>
        )}
      </div>
      <ContactList query={toQuery(filters)} filtered={filtered} onTotal={setTotal} listRef={listRef} onClear={clear} />
    </div>
  );
}

function ContactList(props: {
  query: Omit<ContactQueryArgs, 'offset' | 'limit'>;
  filtered: boolean;
  onTotal: (n: number | null) => void;
  listRef: { current: HTMLDivElement | null };
  onClear: () => void;
}) {
  const cache = useMemo(() => new PageCache<ContactRow>(PAGE_SIZE, MAX_PAGES), []);
  const [total, setTotal] = useState<number | null>(null);
  const [, setVersion] = useState(0);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const [selected, setSelected] = useState(memory.selected);
  const [error, setError] = useState<ApiError | null>(null);
  const queryKey = JSON.stringify(props.query);
  const queryRef = useRef(props.query);
  queryRef.current = props.query;
  const firstQuery = useRef(true);
  const frame = useRef(0);
  const { onTotal } = props;

  const fetchPage = useCallback(
    async (page: number) => {
      const gen = cache.generation;
      cache.markLoading(page);
      try {
        const res = await api.contactsPage({ ...queryRef.current, offset: page * PAGE_SIZE, limit: PAGE_SIZE });
        if (cache.store(gen, page, res.rows)) {
          setTotal(res.total);
          onTotal(res.total);
          setError(null);
          setVersion((v) => v + 1);
        }
      } catch (e) {
        cache.fail(gen, page);
        if (gen === cache.generation) setError(toApiError(e));
      }
    },
    [cache, onTotal],
  );

  // A new query: forget every page and start again at the top (but keep the
  // place when coming back to the list with the same filters).
  useEffect(() => {
    cache.reset();
    const el = props.listRef.current;
    if (firstQuery.current) {
      firstQuery.current = false;
      if (el) el.scrollTop = memory.scrollTop;
      setScrollTop(memory.scrollTop);
    } else {
      if (el) el.scrollTop = 0;
      setScrollTop(0);
      setSelected(0);
      setTotal(null);
      onTotal(null);
    }
    void fetchPage(cache.pageOf(Math.floor((el?.scrollTop ?? 0) / ROW_HEIGHT)));
  }, [queryKey]);

  // Records arrived from other devices: fetch the pages on screen again,
  // keeping the place and the rows shown until the new ones are in.
  const arrived = arrivals.value;
  const seenArrivals = useRef(arrived);
  useEffect(() => {
    if (arrived === seenArrivals.current) return;
    seenArrivals.current = arrived;
    const pages = cache.refresh();
    if (pages.length === 0) pages.push(cache.pageOf(Math.floor((props.listRef.current?.scrollTop ?? 0) / ROW_HEIGHT)));
    for (const p of pages) void fetchPage(p);
  }, [arrived]);

  // Track the viewport's height.
  useLayoutEffect(() => {
    const el = props.listRef.current;
    if (!el) return;
    setHeight(el.clientHeight);
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, [props.listRef, total === 0]);

  const count = total ?? 0;
  const win = visibleRows({ scrollTop, viewportHeight: height, rowHeight: ROW_HEIGHT, total: count, overscan: OVERSCAN });

  // Fetch the pages the window needs; drop far-away ones.
  useEffect(() => {
    if (total === null) return;
    for (const p of cache.missing(win.start, win.end)) void fetchPage(p);
    cache.trim(cache.pageOf(win.start));
  }, [win.start, win.end, total, cache, fetchPage]);

  useEffect(() => {
    memory.selected = selected;
  }, [selected]);

  const onScroll = (e: Event) => {
    const el = e.currentTarget as HTMLDivElement;
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => {
      setScrollTop(el.scrollTop);
      memory.scrollTop = el.scrollTop;
    });
  };

  const open = (index: number) => {
    const row = cache.get(index);
    if (row) navigate({ name: 'contact', id: row.id });
  };

  const moveTo = (index: number) => {
    if (count === 0) return;
    const next = Math.min(Math.max(0, index), count - 1);
    setSelected(next);
    const el = props.listRef.current;
    if (!el) return;
    const top = scrollToReveal(next, el.scrollTop, el.clientHeight, ROW_HEIGHT);
    if (top !== null) {
      el.scrollTop = top;
      setScrollTop(top);
    }
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const page = Math.max(1, Math.floor(height / ROW_HEIGHT) - 1);
    const keys: Record<string, () => void> = {
      ArrowDown: () => moveTo(selected + 1),
      ArrowUp: () => moveTo(selected - 1),
      PageDown: () => moveTo(selected + page),
      PageUp: () => moveTo(selected - page),
      Home: () => moveTo(0),
      End: () => moveTo(count - 1),
      Enter: () => open(selected),
    };
    const action = keys[e.key];
    if (action) {
      e.preventDefault();
      action();
    }
  };

  if (total === 0 && !error) {
    return props.filtered ? (
      <EmptyState title="No contacts match" testid="contacts-no-match">
        <p>Try a different search or clear the filters.</p>
        <div class="row">
          <button type="button" class="btn" onClick={props.onClear}>
            Clear filters
          </button>
        </div>
      </EmptyState>
    ) : (
      <EmptyState title="No contacts yet — import a CSV or add one" testid="contacts-empty">
        <p>Bring your client book across from a spreadsheet, or add people one at a time.</p>
        <div class="row">
          <a class="btn" href="#/import">
            Import a CSV
          </a>
          <button type="button" class="btn btn-primary" onClick={() => navigate({ name: 'contact-new' })}>
            Add a contact
          </button>
        </div>
      </EmptyState>
    );
  }

  const rows = [];
  for (let i = win.start; i < win.end; i++) {
    const row = cache.get(i);
    const top = i * ROW_HEIGHT;
    if (!row) {
      rows.push(
        <div key={i} class="vrow" style={{ top }} aria-hidden="true" data-testid="contact-row-loading">
          <div class="vrow-skeleton" />
          <div class="vrow-skeleton" />
          <div />
          <div />
          <div class="vrow-skeleton" />
          <div />
        </div>,
      );
      continue;
    }
    rows.push(
      <div
        key={i}
        id={`contact-opt-${i}`}
        class="vrow"
        role="option"
        aria-selected={i === selected}
        style={{ top }}
        data-testid="contact-row"
        data-id={row.id}
        onClick={() => {
          setSelected(i);
          open(i);
        }}
      >
        <span class="vrow-name">{row.display_name}</span>
        <span>{row.company_name ?? ''}</span>
        <span>
          <Badge tone="accent">{words(row.stage)}</Badge>
        </span>
        <span>{row.owner ?? ''}</span>
        <span>{row.email ?? ''}</span>
        <span>{row.phone ?? row.city ?? ''}</span>
      </div>,
    );
  }

  return (
    <div class="contacts-list">
      <LoadError error={error} onRetry={() => void fetchPage(cache.pageOf(win.start))} />
      <div class="vlist-head" aria-hidden="true">
        <span>Name</span>
        <span>Company</span>
        <span>Stage</span>
        <span>Owner</span>
        <span>Email</span>
        <span>Phone</span>
      </div>
      <div
        ref={(el) => {
          props.listRef.current = el;
        }}
        class="vlist"
        tabIndex={0}
        role="listbox"
        aria-label="Contacts"
        aria-rowcount={count}
        aria-activedescendant={cache.get(selected) ? `contact-opt-${selected}` : undefined}
        onScroll={onScroll}
        onKeyDown={onKeyDown}
      >
        <div style={{ height: count * ROW_HEIGHT, position: 'relative' }}>{rows}</div>
      </div>
    </div>
  );
}
