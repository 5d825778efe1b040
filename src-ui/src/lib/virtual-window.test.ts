import { describe, expect, it } from 'vitest';
import { scrollToReveal, visibleRows } from './virtual-window';

const base = { rowHeight: 40, viewportHeight: 400, overscan: 5, total: 100_000 };

describe('visibleRows', () => {
  it('renders the first screen plus overscan below at the top', () => {
    expect(visibleRows({ ...base, scrollTop: 0 })).toEqual({ start: 0, end: 15 });
  });

  it('adds overscan on both sides in the middle', () => {
    // 50,000 * 40 = 2,000,000: rows 50,000..50,010 visible
    expect(visibleRows({ ...base, scrollTop: 2_000_000 })).toEqual({ start: 49_995, end: 50_015 });
  });

  it('counts a partly visible row', () => {
    expect(visibleRows({ ...base, overscan: 0, scrollTop: 20 })).toEqual({ start: 0, end: 11 });
  });

  it('never goes past the end', () => {
    const w = visibleRows({ ...base, scrollTop: 100_000 * 40 });
    expect(w.end).toBe(100_000);
    expect(w.start).toBe(100_000 - 10 - 5);
  });

  it('handles short lists, empty lists and bad input', () => {
    expect(visibleRows({ ...base, total: 3, scrollTop: 0 })).toEqual({ start: 0, end: 3 });
    expect(visibleRows({ ...base, total: 0, scrollTop: 0 })).toEqual({ start: 0, end: 0 });
    expect(visibleRows({ ...base, rowHeight: 0, scrollTop: 0 })).toEqual({ start: 0, end: 0 });
    expect(visibleRows({ ...base, scrollTop: -300 })).toEqual({ start: 0, end: 15 });
  });

  it('renders at least one row when the viewport has no height yet', () => {
    expect(visibleRows({ ...base, viewportHeight: 0, overscan: 0, scrollTop: 0 })).toEqual({ start: 0, end: 1 });
  });
});

describe('scrollToReveal', () => {
  it('scrolls up to a row above the viewport', () => {
    expect(scrollToReveal(2, 400, 400, 40)).toBe(80);
  });
  it('scrolls down just enough for a row below', () => {
    expect(scrollToReveal(10, 0, 400, 40)).toBe(40);
  });
  it('leaves a visible row alone', () => {
    expect(scrollToReveal(5, 0, 400, 40)).toBeNull();
  });
});
