import { describe, expect, it } from 'vitest';
import type { SettingFieldDto } from '../bindings';
import { initialValues, settingsPayload, validateSettings } from './plugin-settings';

const field = (over: Partial<SettingFieldDto> & { key: string; kind: string }): SettingFieldDto => ({
  label: over.key,
  required: false,
  choices: [],
  value: null,
  is_set: false,
  from_agency: false,
  ...over,
});

const fields = [
  field({ key: 'days', kind: 'integer', required: true, value: 30 }),
  field({ key: 'ratio', kind: 'number', value: 0.5 }),
  field({ key: 'loud', kind: 'boolean', value: true }),
  field({ key: 'token', kind: 'secret', required: true, is_set: true }),
  field({ key: 'colour', kind: 'string', choices: ['red', 'blue'], value: 'red' }),
  field({ key: 'name', kind: 'string', required: true }),
];

describe('initialValues', () => {
  it('turns stored values into text and never shows secrets', () => {
    expect(initialValues(fields)).toEqual({
      days: '30',
      ratio: '0.5',
      loud: 'true',
      token: '',
      colour: 'red',
      name: '',
    });
  });

  it('copes with odd stored values', () => {
    const odd = [field({ key: 'a', kind: 'string', value: { x: 1 } }), field({ key: 'b', kind: 'boolean', value: 'nope' })];
    expect(initialValues(odd)).toEqual({ a: '{"x":1}', b: 'false' });
  });
});

describe('validateSettings', () => {
  it('marks required fields, but a stored secret counts as filled', () => {
    const errors = validateSettings(fields, { ...initialValues(fields) });
    expect(errors).toEqual({ name: 'required' });
  });

  it('checks numbers and choices', () => {
    const errors = validateSettings(fields, {
      days: '3.5',
      ratio: 'abc',
      loud: 'false',
      token: '',
      colour: 'green',
      name: 'x',
    });
    expect(Object.keys(errors).sort()).toEqual(['colour', 'days', 'ratio']);
  });

  it('requires an unset secret', () => {
    const f = [field({ key: 's', kind: 'secret', required: true, is_set: false })];
    expect(validateSettings(f, { s: '  ' })).toEqual({ s: 'required' });
  });

  it('accepts signed integers and decimals', () => {
    expect(validateSettings(fields, { days: '-4', ratio: '1e3', name: 'n', colour: 'blue' })).toEqual({});
  });
});

describe('settingsPayload', () => {
  it('trims text, normalises booleans and keeps secrets as typed', () => {
    const payload = settingsPayload(fields, { days: ' 14 ', loud: 'yes', token: ' s3cret ', name: 'n' });
    expect(payload).toEqual({ days: '14', ratio: '', loud: 'false', token: ' s3cret ', colour: '', name: 'n' });
  });
});
