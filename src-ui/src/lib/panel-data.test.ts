import { describe, expect, it } from 'vitest';
import { MAX_ITEMS, displayText, panelModel } from './panel-data';

const panel = (kind: string, data: unknown, error: string | null = null) => ({ kind, data, error });

describe('panelModel', () => {
  it('draws a stat', () => {
    expect(panelModel(panel('stat', { kind: 'stat', value: 12, label: 'Renewals' }))).toEqual({
      kind: 'stat',
      value: '12',
      label: 'Renewals',
      hint: null,
    });
  });

  it('draws lists of strings and of titled items', () => {
    const m = panelModel(panel('list', { items: ['a', { title: 'B', subtitle: 'b' }, 3, null] }));
    expect(m).toEqual({
      kind: 'list',
      items: [
        { title: 'a', subtitle: null },
        { title: 'B', subtitle: 'b' },
        { title: '3', subtitle: null },
        { title: '—', subtitle: null },
      ],
      empty: null,
    });
  });

  it('squares up ragged tables and keeps the empty message', () => {
    const m = panelModel(panel('table', { columns: ['A', 'B'], rows: [[1], [1, 2, 3], 'x', { A: 'a', B: true }], empty: 'Nothing' }));
    expect(m).toEqual({
      kind: 'table',
      columns: ['A', 'B'],
      rows: [
        ['1', ''],
        ['1', '2'],
        ['x', ''],
        ['a', 'Yes'],
      ],
      empty: 'Nothing',
      more: 0,
    });
  });

  it('bounds huge tables', () => {
    const rows = Array.from({ length: MAX_ITEMS + 50 }, (_, i) => [i]);
    const m = panelModel(panel('table', { columns: ['n'], rows }));
    expect(m.kind === 'table' && m.rows.length).toBe(MAX_ITEMS);
    expect(m.kind === 'table' && m.more).toBe(50);
  });

  it('shows the error instead of the data', () => {
    expect(panelModel(panel('stat', null, 'script timed out'))).toEqual({ kind: 'error', message: 'script timed out' });
  });

  it('dumps unknown kinds as key/value pairs without the host keys', () => {
    expect(panelModel(panel('form', { kind: 'form', title: 'T', a: 1, b: [1, 'x'] }))).toEqual({
      kind: 'pairs',
      pairs: [
        ['a', '1'],
        ['b', '1, x'],
      ],
    });
  });

  it('draws a chart from points, or falls back to pairs', () => {
    expect(panelModel(panel('chart', { points: [{ label: 'Jan', value: 3 }, { label: 'bad', value: 'x' }] }))).toEqual({
      kind: 'chart',
      bars: [{ label: 'Jan', value: 3 }],
    });
    expect(panelModel(panel('chart', { foo: 'bar' })).kind).toBe('pairs');
  });

  it('never throws on hostile shapes', () => {
    const hostile: unknown[] = [
      undefined,
      42,
      'text',
      [],
      { items: 'not a list' },
      { items: [[[[[[[[[1]]]]]]]]] },
      { columns: 'x', rows: { 0: 1 } },
      { value: { nested: { deeper: { deepest: { gone: 1 } } } } },
      { value: Number.NaN },
      Object.create(null) as unknown,
    ];
    for (const kind of ['stat', 'list', 'table', 'text', 'chart', 'weird', '']) {
      for (const data of hostile) expect(() => panelModel(panel(kind, data))).not.toThrow();
    }
    expect(panelModel(panel('stat', { value: Number.POSITIVE_INFINITY }))).toMatchObject({ value: '—' });
    expect(panelModel({ kind: 5, data: { kind: 'stat', value: 1 }, error: 7 })).toMatchObject({ kind: 'stat', value: '1' });
  });

  it('caps long strings', () => {
    const m = panelModel(panel('text', { text: 'x'.repeat(10_000) }));
    expect(m.kind === 'text' && m.text.length).toBeLessThan(2100);
  });
});

describe('displayText', () => {
  it('reads values plainly', () => {
    expect(displayText(null)).toBe('—');
    expect(displayText(false)).toBe('No');
    expect(displayText({ a: 1, b: 'x' })).toBe('a: 1; b: x');
  });
});
