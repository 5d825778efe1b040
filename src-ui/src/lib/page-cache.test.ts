import { describe, expect, it } from 'vitest';
import { PageCache } from './page-cache';

const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => `row ${from + i}`);

describe('PageCache', () => {
  it('maps a row range to the pages covering it', () => {
    const c = new PageCache<string>(200);
    expect(c.pagesFor(0, 15)).toEqual([0]);
    expect(c.pagesFor(190, 215)).toEqual([0, 1]);
    expect(c.pagesFor(199, 200)).toEqual([0]);
    expect(c.pagesFor(200, 201)).toEqual([1]);
    expect(c.pagesFor(10, 10)).toEqual([]);
  });

  it('asks only for pages neither loaded nor in flight', () => {
    const c = new PageCache<string>(200);
    expect(c.missing(150, 450)).toEqual([0, 1, 2]);
    c.markLoading(1);
    expect(c.store(c.generation, 0, rows(0, 200))).toBe(true);
    expect(c.missing(150, 450)).toEqual([2]);
    expect(c.get(150)).toBe('row 150');
    expect(c.get(250)).toBeUndefined();
  });

  it('drops answers from before a reset and forgets everything', () => {
    const c = new PageCache<string>(200);
    const old = c.generation;
    c.markLoading(0);
    c.store(old, 3, rows(600, 200));
    c.reset();
    expect(c.get(600)).toBeUndefined();
    expect(c.store(old, 0, rows(0, 200))).toBe(false);
    expect(c.get(0)).toBeUndefined();
    expect(c.missing(0, 10)).toEqual([0]);
  });

  it('lets a failed page be fetched again', () => {
    const c = new PageCache<string>(200);
    c.markLoading(4);
    expect(c.missing(800, 801)).toEqual([]);
    c.fail(c.generation, 4);
    expect(c.missing(800, 801)).toEqual([4]);
  });

  it('keeps the pages nearest the view when over its limit', () => {
    const c = new PageCache<string>(10, 3);
    for (const p of [0, 1, 2, 3, 4]) c.store(c.generation, p, rows(p * 10, 10));
    expect(c.trim(4).sort()).toEqual([0, 1]);
    expect(c.size).toBe(3);
    expect(c.hasPage(4) && c.hasPage(3) && c.hasPage(2)).toBe(true);
  });

  it('handles a short last page', () => {
    const c = new PageCache<string>(200);
    c.store(c.generation, 0, rows(0, 7));
    expect(c.get(6)).toBe('row 6');
    expect(c.get(7)).toBeUndefined();
  });
  it('refreshes in place: old rows stay until their new versions arrive, late old answers are dropped', () => {
    const c = new PageCache<string>(200);
    const old = c.generation;
    c.store(old, 0, rows(0, 200));
    c.store(old, 2, rows(400, 200));
    c.markLoading(1);
    const again = c.refresh();
    expect(again.sort()).toEqual([0, 2]);
    expect(c.get(5)).toBe('row 5');
    expect(c.isLoading(1)).toBe(false);
    expect(c.store(old, 0, ['stale'])).toBe(false);
    expect(c.get(0)).toBe('row 0');
    expect(c.store(c.generation, 0, ['fresh'])).toBe(true);
    expect(c.get(0)).toBe('fresh');
  });
});
