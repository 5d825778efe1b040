import { describe, expect, it } from 'vitest';
import { actionWords, changeWords } from './history';

describe('history wording', () => {
  it('says each change plainly', () => {
    expect(changeWords({ field: 'city', label: 'City', before: 'York', after: 'Leeds' })).toBe('City: York → Leeds');
    expect(changeWords({ field: 'job_title', label: 'Job title', before: null, after: 'Broker' })).toBe(
      'Job title: set to Broker',
    );
    expect(changeWords({ field: 'city', label: 'City', before: 'York', after: null })).toBe('City: cleared (was York)');
  });

  it('names every action', () => {
    expect(actionWords('created')).toBe('Created');
    expect(actionWords('updated')).toBe('Changed');
    expect(actionWords('evicted')).toContain('Removed');
  });
});
