import { describe, expect, it } from 'vitest';
import { changedFields, draftToForm, emptyDraft, inputForErrorField, splitList } from './contact-form';

describe('contact form', () => {
  it('splits emails and phones into lists', () => {
    const d = { ...emptyDraft('person', 'lead'), emails: 'a@x.uk; b@y.uk  c@z.uk', phones: '07700 900123, +44 20 7946 0000' };
    const f = draftToForm(d);
    expect(f.emails).toEqual(['a@x.uk', 'b@y.uk', 'c@z.uk']);
    expect(f.phones).toEqual(['07700 900123', '+44 20 7946 0000']);
    expect(splitList('  ', true)).toEqual([]);
  });

  it('maps backend fields to inputs', () => {
    expect(inputForErrorField('email')).toBe('email');
    expect(inputForErrorField('phones')).toBe('phone');
    expect(inputForErrorField('postcode')).toBe('postcode');
    expect(inputForErrorField(null)).toBeNull();
  });

  it('names only the fields an edit changed', () => {
    const opened = { ...emptyDraft('person', 'prospect'), city: 'York', emails: 'a@x.uk' };
    expect(changedFields(opened, { ...opened })).toEqual([]);
    const now = { ...opened, city: 'Leeds', emails: 'a@x.uk, b@y.uk', postcode: '' };
    expect(changedFields(opened, now)).toEqual(['emails', 'city']);
  });
});
