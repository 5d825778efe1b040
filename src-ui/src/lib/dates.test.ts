import { describe, expect, it } from 'vitest';
import { formatDate, todayIso } from './dates';

describe('dates', () => {
  it('formats ISO dates without shifting them', () => {
    expect(formatDate('2026-01-15')).toBe('15 Jan 2026');
    expect(formatDate('2026-12-01')).toBe('1 Dec 2026');
    expect(formatDate(null)).toBe('—');
    expect(formatDate('2026-13-01')).toBe('2026-13-01');
    expect(formatDate('soon')).toBe('soon');
  });

  it('gives today in local time', () => {
    expect(todayIso(new Date(2026, 0, 5, 23, 59))).toBe('2026-01-05');
  });
});
