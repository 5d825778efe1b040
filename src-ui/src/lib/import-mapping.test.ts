import { describe, expect, it } from 'vitest';
import type { ColumnDto } from '../bindings';
import {
  CUSTOM_PROMPT,
  IGNORE,
  currentField,
  customField,
  fieldLabel,
  mappingOptions,
  toColumnChoices,
} from './import-mapping';

const col = (index: number, header: string, field: string | null): ColumnDto => ({ index, header, field, explicit: false });
const columns = [col(0, 'First', 'first_name'), col(1, 'Surname', 'last_name'), col(2, 'Notes', null)];

describe('currentField', () => {
  it('prefers the override, then detection, then ignore', () => {
    expect(currentField(columns[0]!, {})).toBe('first_name');
    expect(currentField(columns[0]!, { First: 'company_name' })).toBe('company_name');
    expect(currentField(columns[2]!, {})).toBe(IGNORE);
  });
});

describe('toColumnChoices', () => {
  it('sends only what the user changed, in column order', () => {
    expect(toColumnChoices(columns, { Notes: 'custom.notes', First: IGNORE })).toEqual([
      { column: 'First', field: 'ignore' },
      { column: 'Notes', field: 'custom.notes' },
    ]);
  });

  it('drops headers the file no longer has and the custom placeholder', () => {
    expect(toColumnChoices(columns, { Gone: 'email', Surname: CUSTOM_PROMPT })).toEqual([]);
  });

  it('sends a duplicated header once', () => {
    const dup = [col(0, 'Phone', 'phone'), col(1, 'Phone', 'phone')];
    expect(toColumnChoices(dup, { Phone: 'ignore' })).toEqual([{ column: 'Phone', field: 'ignore' }]);
  });
});

describe('mappingOptions', () => {
  it('lists every import field, custom and ignore', () => {
    const values = mappingOptions(['first_name', 'email'], 'email').map((o) => o.value);
    expect(values).toEqual(['first_name', 'email', CUSTOM_PROMPT, IGNORE]);
  });

  it('keeps a custom current value selectable', () => {
    const values = mappingOptions(['email'], 'custom.ref').map((o) => o.value);
    expect(values).toContain('custom.ref');
  });
});

describe('customField', () => {
  it('prefixes and trims the name', () => {
    expect(customField('  Broker ref ')).toBe('custom.Broker ref');
    expect(customField('custom.x')).toBe('custom.x');
    expect(customField('   ')).toBeNull();
  });
});

describe('fieldLabel', () => {
  it('reads like words', () => {
    expect(fieldLabel('date_of_birth')).toBe('Date of birth');
    expect(fieldLabel('custom.ref')).toBe('Custom: ref');
  });
});
