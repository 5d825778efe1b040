// Which rows of a fixed-row-height list are in the DOM: the visible ones
// plus `overscan` either side, so fast scrolling does not show blanks.

export interface WindowInput {
  scrollTop: number;
  viewportHeight: number;
  rowHeight: number;
  total: number;
  overscan: number;
}

/** Rows `start` (inclusive) to `end` (exclusive). */
export interface RowWindow {
  start: number;
  end: number;
}

export function visibleRows({ scrollTop, viewportHeight, rowHeight, total, overscan }: WindowInput): RowWindow {
  if (!(rowHeight > 0) || !(total > 0)) return { start: 0, end: 0 };
  const maxTop = Math.max(0, total * rowHeight - Math.max(0, viewportHeight));
  const top = Math.min(Math.max(0, scrollTop || 0), maxTop);
  const height = Math.max(0, viewportHeight || 0);
  const pad = Math.max(0, Math.floor(overscan));
  const first = Math.floor(top / rowHeight);
  const last = Math.ceil((top + height) / rowHeight); // exclusive
  return {
    start: Math.max(0, first - pad),
    end: Math.min(total, Math.max(last, first + 1) + pad),
  };
}

/**
 * The scrollTop that brings row `index` fully into view, or null when it
 * already is (keyboard navigation scrolls only as much as it must).
 */
export function scrollToReveal(index: number, scrollTop: number, viewportHeight: number, rowHeight: number): number | null {
  const rowTop = index * rowHeight;
  const rowBottom = rowTop + rowHeight;
  if (rowTop < scrollTop) return rowTop;
  if (rowBottom > scrollTop + viewportHeight) return Math.max(0, rowBottom - viewportHeight);
  return null;
}
