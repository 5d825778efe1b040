import { describe, expect, it } from 'vitest';
import { idPart, testId } from './testid';

describe('testId', () => {
  it('replaces characters outside [a-zA-Z0-9_-] in every id part', () => {
    expect(testId('plugin', 'templates.renewal-reminders')).toBe('plugin-templates-renewal-reminders');
    expect(testId('action', 'acme.x', 'run now!')).toBe('action-acme-x-run-now-');
    expect(idPart('days_ahead')).toBe('days_ahead');
  });
});
