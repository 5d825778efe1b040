// The training matrix: staff by course, each cell a mark and a colour
// (✓ valid, ! due within 60 days, ✗ expired, – missing; the cell's title
// says it in words), with per-course totals for what is shown. The whole
// matrix comes in one command; filters narrow it here, at once. Cells are
// plain table cells, no component or state per cell, and only the rows in
// view (and a margin) are in the page: the others are one empty row of
// their height above and below. Drawing all 12,000 cells of 300 people ×
// 40 courses took over half a second in the window (`make
// bench-compliance`); the rows in view, a small part of it.

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import * as api from '../api';
import type { MatrixRowDto, StandingDto } from '../bindings';
import { ComplianceTabs } from '../components/compliance';
import { EmptyState, LoadError, Loading, PageHeader, inputValue, words } from '../components/ui';
import { cellClass, cellTitle, filterMatrix, NO_FILTER, percentLabel, STANDING_LABEL, STANDING_MARK, STANDINGS, teamsAndRoles, type MatrixFilter, type MatrixView } from '../lib/compliance';
import { formatDate } from '../lib/dates';
import { routeHref } from '../lib/route';
import { testId } from '../lib/testid';
import { useComplianceMeta } from '../state/compliance';
import { useLoader } from '../state/use-loader';
import { visibleRows } from '../lib/virtual-window';

const LEGEND_TEXT: Record<StandingDto, string> = {
  valid: 'Valid',
  due_soon: 'Due within 60 days',
  expired: 'Expired',
  missing: 'Not done',
};

export function MatrixScreen() {
  const meta = useComplianceMeta();
  const matrix = useLoader(() => api.complianceMatrix({ team: null, role: null, category: null, course: null, standing: null, text: null }), [], { live: true });
  const [filter, setFilter] = useState<MatrixFilter>(NO_FILTER);
  const m = matrix.data;
  const view = useMemo(() => (m ? filterMatrix(m, filter) : null), [m, filter]);
  const choices = useMemo(() => teamsAndRoles(m?.rows ?? []), [m]);
  const set = (key: keyof MatrixFilter) => (e: Event) => setFilter({ ...filter, [key]: inputValue(e) });
  return (
    <div class="page page-matrix">
      <PageHeader title="Training matrix" subtitle={m ? `Where everyone stands on ${formatDate(m.today)}.` : 'Where everyone stands today.'}>
        {meta?.access.admin && (
          <a class="btn" href={routeHref({ name: 'compliance-courses' })}>
            Courses
          </a>
        )}
      </PageHeader>
      <ComplianceTabs current="compliance-matrix" access={meta?.access ?? null} />
      <div class="card">
        <div class="row matrix-filters">
          <input class="input" type="search" placeholder="Find by name" aria-label="Find by name" data-testid="mx-filter-text" value={filter.text} onInput={set('text')} />
          <select class="input" aria-label="Team" data-testid="mx-filter-team" value={filter.team} onChange={set('team')}>
            <option value="">Every team</option>
            {choices.teams.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
          <select class="input" aria-label="Role" data-testid="mx-filter-role" value={filter.role} onChange={set('role')}>
            <option value="">Every role</option>
            {choices.roles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <select class="input" aria-label="Category" data-testid="mx-filter-category" value={filter.category} onChange={set('category')}>
            <option value="">Every category</option>
            {(meta?.course_categories ?? []).map((c) => (
              <option key={c} value={c}>
                {words(c)}
              </option>
            ))}
          </select>
          <select class="input" aria-label="Course" data-testid="mx-filter-course" value={filter.course} onChange={set('course')}>
            <option value="">Every course</option>
            {(m?.courses ?? []).map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
          <select class="input" aria-label="Standing" data-testid="mx-filter-standing" value={filter.standing} onChange={set('standing')}>
            <option value="">Any standing</option>
            {STANDINGS.map((s) => (
              <option key={s} value={s}>
                With {LEGEND_TEXT[s].toLowerCase()}
              </option>
            ))}
          </select>
        </div>
        <ul class="legend" aria-label="Legend" data-testid="mx-legend">
          {STANDINGS.map((s) => (
            <li key={s}>
              <span class={cellClass(s)} aria-hidden="true">
                {STANDING_MARK[s]}
              </span>{' '}
              {LEGEND_TEXT[s]}
            </li>
          ))}
        </ul>
      </div>
      <LoadError error={matrix.error} onRetry={() => void matrix.reload()} />
      {!view && !matrix.error && <Loading />}
      {view && view.rows.length === 0 && (
        <EmptyState title={m && m.rows.length > 0 ? 'Nobody matches these filters' : 'No staff to show yet'} testid="mx-empty">
          {m && m.rows.length > 0 ? 'Clear a filter to see more people.' : 'Add staff and their training to see the matrix.'}
        </EmptyState>
      )}
      {view && view.rows.length > 0 && <MatrixTable view={view} filter={filter} />}
      {view && view.rows.length > 0 && <Totals view={view} />}
    </div>
  );
}

/** A row's height before one is measured (`.matrix` rows in the CSS). */
const ROW_HEIGHT = 25;
/** Rows drawn beyond the view, either side, so scrolling shows no gap. */
const OVERSCAN = 6;

/**
 * Which of `total` rows to draw in the scrolling `wrap`: those in view and
 * a margin. The wrap's height is known only once drawn (the first draw has
 * a row or so, the next, before anything is shown, the rest); the header's,
 * the footer's and a row's height are measured after each draw (the text
 * size changes them). Scrolling redraws once per frame at most, and only
 * when the window of rows moves.
 */
function useMatrixWindow(wrap: { current: HTMLDivElement | null }, total: number, resetKey: unknown) {
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(0);
  const [sizes, setSizes] = useState({ head: 0, foot: 0, row: ROW_HEIGHT });
  const frame = useRef(0);
  useLayoutEffect(() => {
    const el = wrap.current;
    if (!el) return undefined;
    setViewport(el.clientHeight);
    const ro = new ResizeObserver(() => setViewport(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, [wrap]);
  useLayoutEffect(() => {
    const table = wrap.current?.querySelector('table');
    const head = table?.tHead?.offsetHeight ?? 0;
    const foot = table?.tFoot?.offsetHeight ?? 0;
    const first = table?.querySelector<HTMLElement>('tbody tr[aria-rowindex]');
    const row = first && first.offsetHeight > 0 ? first.offsetHeight : ROW_HEIGHT;
    if (head !== sizes.head || foot !== sizes.foot || row !== sizes.row) setSizes({ head, foot, row });
  });
  // A new filter starts at the top (before the frame: no glimpse of the
  // old place); records arriving from other devices keep the place.
  useLayoutEffect(() => {
    if (wrap.current) wrap.current.scrollTop = 0;
    setScrollTop(0);
  }, [resetKey]);
  useEffect(() => () => cancelAnimationFrame(frame.current), []);
  const onScroll = (e: Event) => {
    const el = e.currentTarget as HTMLDivElement;
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => setScrollTop(el.scrollTop));
  };
  // The header and footer stay in view (sticky): the rows scroll between.
  const between = Math.max(0, viewport - sizes.head - sizes.foot);
  const win = visibleRows({ scrollTop, viewportHeight: between, rowHeight: sizes.row, total, overscan: OVERSCAN });
  // Keyboard focus scrolled into view lands clear of the sticky header and footer.
  const padding = { scrollPaddingTop: `${sizes.head}px`, scrollPaddingBottom: `${sizes.foot}px` };
  return { ...win, before: win.start * sizes.row, after: (total - win.end) * sizes.row, onScroll, padding };
}

function MatrixTable(props: { view: MatrixView; filter: MatrixFilter }) {
  const v = props.view;
  const wrap = useRef<HTMLDivElement>(null);
  const win = useMatrixWindow(wrap, v.rows.length, props.filter);
  const span = v.columns.length + 1;
  return (
    <div class="matrix-wrap card" data-testid="mx-table" ref={wrap} onScroll={win.onScroll} style={win.padding}>
      <table class="matrix" aria-rowcount={v.rows.length + 2}>
        <caption class="visually-hidden">Training by person and course; each cell says valid, due soon, expired or missing.</caption>
        <thead>
          <tr aria-rowindex={1}>
            <th class="mx-name" scope="col">
              <span class="muted small" data-testid="mx-count">
                {v.rows.length} {v.rows.length === 1 ? 'person' : 'people'} × {v.columns.length} {v.columns.length === 1 ? 'course' : 'courses'}
              </span>
            </th>
            {v.columns.map(({ course }) => (
              <th key={course.id} class="mx-course" scope="col" title={course.name}>
                <span>{course.name}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {win.before > 0 && <Spacer height={win.before} span={span} />}
          {v.rows.slice(win.start, win.end).map((r, i) => (
            <Row key={r.staff_id} row={r} view={v} index={win.start + i} />
          ))}
          {win.after > 0 && <Spacer height={win.after} span={span} />}
        </tbody>
        <tfoot>
          <tr aria-rowindex={v.rows.length + 2}>
            <th class="mx-name" scope="row" title="Percent of the people shown with the course in date">
              In date (%)
            </th>
            {v.totals.map((t, i) => (
              <td key={v.columns[i]?.course.id ?? i} class="mx-total" title={`${t.valid} valid, ${t.due_soon} due soon, ${t.expired} expired, ${t.missing} missing`}>
                {Math.round(t.percent)}
              </td>
            ))}
          </tr>
        </tfoot>
      </table>
    </div>
  );
}

/** The space of the rows not drawn. */
function Spacer(props: { height: number; span: number }) {
  return (
    <tr class="mx-spacer" aria-hidden="true" style={{ height: `${props.height}px` }}>
      <td colSpan={props.span} />
    </tr>
  );
}

/** One person's row (`index` among the rows shown): plain cells, nothing stateful. */
function Row(props: { row: MatrixRowDto; view: MatrixView; index: number }) {
  const r = props.row;
  // Row 1 is the header: people count from 2.
  return (
    <tr data-testid={testId('mx-row', r.staff_id)} aria-rowindex={props.index + 2}>
      <th class="mx-name" scope="row">
        <a href={routeHref({ name: 'compliance-person', id: r.staff_id })}>{r.name}</a>
        <span class="muted small"> {r.role}</span>
      </th>
      {props.view.columns.map(({ course, index }) => {
        const c = r.cells[index];
        if (!c) return <td key={course.id} class="mx" />;
        return (
          <td key={course.id} class={cellClass(c.standing)} title={cellTitle(r.name, course.name, c)}>
            {STANDING_MARK[c.standing]}
          </td>
        );
      })}
    </tr>
  );
}

/** Per-course totals, drawn only when opened (a table per course count). */
function Totals(props: { view: MatrixView }) {
  const v = props.view;
  const [open, setOpen] = useState(false);
  return (
    <details class="card" data-testid="mx-totals" onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
      <summary>Totals per course</summary>
      {open && <TotalsTable view={v} />}
    </details>
  );
}

function TotalsTable(props: { view: MatrixView }) {
  const v = props.view;
  return (
    <table class="table">
      <thead>
        <tr>
          <th>Course</th>
          {STANDINGS.map((s) => (
            <th key={s} class="num">
              {STANDING_LABEL[s]}
            </th>
          ))}
          <th class="num">In date</th>
        </tr>
      </thead>
      <tbody>
        {v.columns.map(({ course }, i) => {
          const t = v.totals[i];
          if (!t) return null;
          return (
            <tr key={course.id} data-testid={testId('mx-total', course.id)}>
              <td>{course.name}</td>
              <td class="num">{t.valid}</td>
              <td class="num">{t.due_soon}</td>
              <td class="num">{t.expired}</td>
              <td class="num">{t.missing}</td>
              <td class="num">{percentLabel(t.percent)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
