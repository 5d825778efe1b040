import { describe, expect, it } from 'vitest';
import { changedFields, draftFromContact, draftToForm, emptyDraft, inputForErrorField, splitList, withDetail } from './contact-form';

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
    const opened = withDetail({ ...emptyDraft('person', 'prospect'), emails: 'a@x.uk' }, 'city', 'York');
    expect(changedFields(opened, { ...opened })).toEqual([]);
    const now = withDetail(withDetail({ ...opened, emails: 'a@x.uk, b@y.uk' }, 'city', 'Leeds'), 'postcode', '');
    expect(changedFields(opened, now)).toEqual(['emails', 'city']);
    // A detail emptied, or one set that the contact never had, is a change.
    expect(changedFields(opened, withDetail(opened, 'city', ''))).toEqual(['city']);
    expect(changedFields(opened, withDetail(opened, 'preferred_contact_method', 'post'))).toEqual(['preferred_contact_method']);
  });

  it('carries every detail the contact has into the form and back', () => {
    const d = draftFromContact({
      id: 'x',
      kind: 'person',
      display_name: 'Ann Lee',
      first_name: 'Ann',
      last_name: 'Lee',
      company_name: null,
      stage: 'client',
      owner: null,
      tags: [],
      emails: [],
      phones: [],
      details: { job_title: 'Buyer', preferred_contact_method: 'post' },
      date_of_birth: null,
      custom: {},
    });
    expect(draftToForm(d).details).toEqual({ job_title: 'Buyer', preferred_contact_method: 'post' });
  });
});
