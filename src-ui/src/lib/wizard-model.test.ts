import { describe, expect, it } from 'vitest';
import type { StudioCatalogDto } from '../bindings';
import { fieldsFor, newAction, newAutomation, newCondition, newTrigger, opsFor, toggled, withOp } from './wizard-model';

const catalog: StudioCatalogDto = {
  triggers: [
    { kind: 'contact_created', label: 'A contact is created', subject: 'contact', params: [] },
    { kind: 'policy_renewal_due', label: 'A policy comes up for renewal', subject: 'policy', params: ['days'] },
    { kind: 'button', label: 'A button', subject: 'contact', params: ['on', 'label'] },
  ],
  subjects: [
    {
      subject: 'contact',
      fields: [
        { name: 'source', label: 'Source', kind: 'text', choices: [], settable: true },
        { name: 'stage', label: 'Stage', kind: 'choice', choices: ['prospect', 'client', 'lapsed'], settable: true },
        { name: 'custom.score', label: 'Score', kind: 'text', choices: [], settable: true },
      ],
    },
    { subject: 'policy', fields: [{ name: 'carrier', label: 'Carrier', kind: 'text', choices: [], settable: false }] },
  ],
  ops: [
    { kind: 'text', ops: [{ op: 'is', words: 'is' }, { op: 'is_empty', words: 'is empty' }] },
    { kind: 'choice', ops: [{ op: 'is_one_of', words: 'is one of' }, { op: 'is', words: 'is' }] },
    { kind: 'number', ops: [{ op: 'eq', words: '=' }, { op: 'gt', words: '>' }, { op: 'is_empty', words: 'is empty' }] },
  ],
  every: [],
  actions: [],
  stages: ['prospect', 'client', 'lapsed'],
};

describe('the wizard model', () => {
  it('gives triggers their parameters with defaults', () => {
    expect(newTrigger('policy_renewal_due', ['days'])).toEqual({ kind: 'policy_renewal_due', days: 30 });
    expect(newTrigger('instalment_overdue', ['days'])).toEqual({ kind: 'instalment_overdue', days: 7 });
    expect(newTrigger('schedule', ['every', 'at'])).toEqual({ kind: 'schedule', every: 'day', at: '08:00' });
    expect(newAutomation('contact_created', 'A contact is created', []).name).toBe('A contact is created');
  });

  it('starts a condition with the field kind’s first operator and its default value', () => {
    const [source, stage] = catalog.subjects[0]!.fields;
    expect(newCondition(catalog, source!)).toEqual({ field: 'source', op: 'is', value: '' });
    expect(newCondition(catalog, stage!)).toEqual({ field: 'stage', op: 'is_one_of', value: [] });
  });

  it('offers number operators on custom fields, and only the kind’s on others', () => {
    const [source, , score] = catalog.subjects[0]!.fields;
    expect(opsFor(catalog, source).map((o) => o.op)).toEqual(['is', 'is_empty']);
    expect(opsFor(catalog, score).map((o) => o.op)).toEqual(['is', 'is_empty', 'eq', 'gt']);
  });

  it('keeps a value that still fits a new operator and resets one that does not', () => {
    expect(withOp({ field: 'source', op: 'is', value: 'web' }, 'is_not')).toEqual({ field: 'source', op: 'is_not', value: 'web' });
    expect(withOp({ field: 'source', op: 'is', value: 'web' }, 'is_empty')).toEqual({ field: 'source', op: 'is_empty' });
    expect(withOp({ field: 'x', op: 'is', value: 'web' }, 'between')).toEqual({ field: 'x', op: 'between', value: [0, 0] });
  });

  it('gives each trigger its record’s fields', () => {
    expect(fieldsFor(catalog, 'policy_renewal_due').map((f) => f.name)).toEqual(['carrier']);
    expect(fieldsFor(catalog, 'button', 'policy').map((f) => f.name)).toEqual(['carrier']);
    expect(fieldsFor(catalog, 'button', 'contact').map((f) => f.name)).toContain('stage');
  });

  it('toggles items of a list value', () => {
    expect(toggled([], 'prospect', true)).toEqual(['prospect']);
    expect(toggled(['prospect', 'client'], 'prospect', false)).toEqual(['client']);
    expect(toggled(['client'], 'client', true)).toEqual(['client']);
  });

  it('leaves text for the person to type in new actions', () => {
    expect(newAction('create_task')).toEqual({ kind: 'create_task', title: '', due_in_days: 1, for_owner: true });
    expect(newAction('add_tag')).toEqual({ kind: 'add_tag', tag: '' });
  });
});
