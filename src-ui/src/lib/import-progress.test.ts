import { describe, expect, it } from 'vitest';
import { progressFraction, progressLabel } from './import-progress';

describe('import progress', () => {
  it('uses bytes while reading and runs for plugins', () => {
    expect(progressFraction({ phase: 'reading', done: 10, bytes_read: 250, total: 1000 })).toBe(0.25);
    expect(progressFraction({ phase: 'plugins', done: 3, bytes_read: 1000, total: 4 })).toBe(0.75);
  });

  it('is unknown without a total and never leaves 0..1', () => {
    expect(progressFraction(null)).toBeNull();
    expect(progressFraction({ phase: 'reading', done: 0, bytes_read: 5, total: 0 })).toBeNull();
    expect(progressFraction({ phase: 'reading', done: 0, bytes_read: 5000, total: 1000 })).toBe(1);
  });

  it('says what is happening', () => {
    expect(progressLabel({ phase: 'plugins', done: 1, bytes_read: 0, total: 4 })).toBe('Running plugins: 1 of 4 (25%)');
    expect(progressLabel(null)).toBe('Starting…');
  });
});
