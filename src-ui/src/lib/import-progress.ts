// The import progress bar, fed by `import-progress` events: bytes of the
// file while reading, hook runs while plugins work through the new rows.

import type { ImportProgress } from '../bindings';

/** Share of the work done, 0..1, or null when unknown (an indeterminate bar). */
export function progressFraction(p: ImportProgress | null): number | null {
  if (!p || !(p.total > 0)) return null;
  const done = p.phase === 'reading' ? p.bytes_read : p.done;
  if (!Number.isFinite(done)) return null;
  return Math.min(1, Math.max(0, done / p.total));
}

export function progressLabel(p: ImportProgress | null): string {
  if (!p) return 'Starting…';
  const fraction = progressFraction(p);
  const pct = fraction === null ? '' : ` (${Math.round(fraction * 100)}%)`;
  if (p.phase === 'plugins') return `Running plugins: ${p.done} of ${p.total}${pct}`;
  return `Reading the file: ${p.done} rows${pct}`;
}
