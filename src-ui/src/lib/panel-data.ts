// Plugin panels and widgets are DATA drawn by the host, never markup. The data
// comes from untrusted scripts, so it is narrowed here into a small model
// the components can draw without further checks: every string capped, every
// list bounded, and nothing here can throw on a hostile shape.

export type PanelModel =
  | { kind: 'stat'; value: string; label: string | null; hint: string | null }
  | { kind: 'list'; items: { title: string; subtitle: string | null }[]; empty: string | null }
  | { kind: 'table'; columns: string[]; rows: string[][]; empty: string | null; more: number }
  | { kind: 'text'; text: string }
  | { kind: 'chart'; bars: { label: string; value: number }[] }
  | { kind: 'pairs'; pairs: [string, string][] }
  | { kind: 'error'; message: string }
  | { kind: 'empty' };

export const MAX_TEXT = 2000;
export const MAX_ITEMS = 200;
export const MAX_COLUMNS = 20;
const MAX_DEPTH = 4;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function cap(s: string): string {
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s;
}

/** Any JSON value as one line of readable text. */
export function displayText(v: unknown, depth = 0): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return cap(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '—';
  if (typeof v === 'boolean') return v ? 'Yes' : 'No';
  if (depth >= MAX_DEPTH) return '…';
  if (Array.isArray(v)) return cap(v.slice(0, MAX_ITEMS).map((x) => displayText(x, depth + 1)).join(', '));
  if (isObj(v)) {
    return cap(
      Object.keys(v)
        .slice(0, MAX_ITEMS)
        .map((k) => `${k}: ${displayText(v[k], depth + 1)}`)
        .join('; '),
    );
  }
  return '—';
}

function optText(v: unknown): string | null {
  return v === null || v === undefined || v === '' ? null : displayText(v);
}

function statModel(d: Obj): PanelModel {
  return { kind: 'stat', value: displayText(d.value), label: optText(d.label), hint: optText(d.hint) };
}

function listModel(d: Obj): PanelModel {
  const raw = Array.isArray(d.items) ? d.items : [];
  const items = raw.slice(0, MAX_ITEMS).map((it) => {
    if (isObj(it) && 'title' in it) return { title: displayText(it.title), subtitle: optText(it.subtitle) };
    return { title: displayText(it), subtitle: null };
  });
  return { kind: 'list', items, empty: optText(d.empty) };
}

function tableModel(d: Obj): PanelModel {
  const columns = (Array.isArray(d.columns) ? d.columns : []).slice(0, MAX_COLUMNS).map((c) => displayText(c));
  const rawRows = Array.isArray(d.rows) ? d.rows : [];
  const width = columns.length;
  const rows = rawRows.slice(0, MAX_ITEMS).map((r) => {
    const cells = Array.isArray(r)
      ? r.slice(0, MAX_COLUMNS).map((c) => displayText(c))
      : isObj(r) && width > 0
        ? columns.map((c) => displayText(r[c]))
        : [displayText(r)];
    // Pad or cut every row to the header's width so the table stays square.
    if (width === 0) return cells;
    return Array.from({ length: width }, (_, i) => cells[i] ?? '');
  });
  return { kind: 'table', columns, rows, empty: optText(d.empty), more: Math.max(0, rawRows.length - MAX_ITEMS) };
}

function chartModel(d: Obj): PanelModel | null {
  const bars: { label: string; value: number }[] = [];
  const points = Array.isArray(d.points) ? d.points : Array.isArray(d.series) ? d.series : null;
  if (points) {
    for (const p of points.slice(0, MAX_ITEMS)) {
      if (isObj(p) && typeof p.value === 'number' && Number.isFinite(p.value)) bars.push({ label: displayText(p.label), value: p.value });
    }
  } else if (Array.isArray(d.labels) && Array.isArray(d.values)) {
    const n = Math.min(d.labels.length, d.values.length, MAX_ITEMS);
    for (let i = 0; i < n; i++) {
      const v: unknown = d.values[i];
      if (typeof v === 'number' && Number.isFinite(v)) bars.push({ label: displayText(d.labels[i]), value: v });
    }
  }
  return bars.length > 0 ? { kind: 'chart', bars } : null;
}

const HOST_KEYS = new Set(['kind', 'title']);

function pairsModel(d: Obj): PanelModel {
  const pairs = Object.keys(d)
    .filter((k) => !HOST_KEYS.has(k))
    .slice(0, MAX_ITEMS)
    .map((k): [string, string] => [cap(k), displayText(d[k], 1)]);
  return pairs.length > 0 ? { kind: 'pairs', pairs } : { kind: 'empty' };
}

/** The drawable model of a panel (`kind` from the manifest, else from the data). */
export function panelModel(panel: { kind: unknown; data: unknown; error: unknown }): PanelModel {
  try {
    if (typeof panel.error === 'string' && panel.error !== '') return { kind: 'error', message: cap(panel.error) };
    const d = panel.data;
    if (d === null || d === undefined) return { kind: 'empty' };
    if (!isObj(d)) return { kind: 'text', text: displayText(d) };
    const kind = typeof panel.kind === 'string' && panel.kind !== '' ? panel.kind : typeof d.kind === 'string' ? d.kind : '';
    switch (kind) {
      case 'stat':
        return statModel(d);
      case 'list':
        return listModel(d);
      case 'table':
        return tableModel(d);
      case 'text':
        return { kind: 'text', text: displayText(d.text) };
      case 'chart':
        return chartModel(d) ?? pairsModel(d);
      default:
        return pairsModel(d);
    }
  } catch {
    return { kind: 'error', message: 'this panel could not be drawn' };
  }
}
