// The contact form's values, built from a contact for editing and turned
// into the backend's `ContactForm` on save. A contact's details (job title,
// address, preferred contact method…) are whatever the backend declares
// (`Meta.contact_details`), held by name.

import type { ContactDto, ContactFieldName, ContactForm } from '../bindings';

/** The form as edited: emails and phones as one text box each. */
export type ContactDraft = Omit<ContactForm, 'emails' | 'phones' | 'changed'> & { emails: string; phones: string };

/** The fields with behaviour of their own, each an input of the form (each
 * a field the schema declares: `ContactFieldName` is generated from it). */
export const FORM_FIELDS = [
  'kind',
  'first_name',
  'last_name',
  'company_name',
  'stage',
  'owner',
  'tags',
  'emails',
  'phones',
  'date_of_birth',
] as const satisfies readonly ContactFieldName[];

export function emptyDraft(kind: string, stage: string): ContactDraft {
  return {
    kind,
    first_name: '',
    last_name: '',
    company_name: '',
    stage,
    owner: '',
    tags: '',
    emails: '',
    phones: '',
    details: {},
    date_of_birth: '',
  };
}

export function draftFromContact(c: ContactDto): ContactDraft {
  return {
    kind: c.kind,
    first_name: c.first_name ?? '',
    last_name: c.last_name ?? '',
    company_name: c.company_name ?? '',
    stage: c.stage,
    owner: c.owner ?? '',
    tags: c.tags.join(', '),
    emails: c.emails.join(', '),
    phones: c.phones.join(', '),
    details: { ...c.details },
    date_of_birth: c.date_of_birth ?? '',
  };
}

/** The details shown together as the address, in this order. */
export const ADDRESS_DETAILS = ['address_line1', 'address_line2', 'city', 'region', 'postcode', 'country'];

/** A detail's value in a draft ('' when unset). */
export function detailValue(d: ContactDraft, name: string): string {
  return d.details[name] ?? '';
}

/** The draft with one detail set. */
export function withDetail(d: ContactDraft, name: string, value: string): ContactDraft {
  return { ...d, details: { ...d.details, [name]: value } };
}

/** Emails split on commas, semicolons or spaces; phones only on commas and semicolons (they contain spaces). */
export function splitList(text: string, allowSpaces: boolean): string[] {
  return text
    .split(allowSpaces ? /[,;\n]+/ : /[,;\s]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function draftToForm(d: ContactDraft): ContactForm {
  return { ...d, emails: splitList(d.emails, false), phones: splitList(d.phones, true) };
}

/** The fields an edit changed from what the form was opened with: only these are saved, so a
 * colleague's change to another field that synced in while the form was open is kept. */
export function changedFields(opened: ContactDraft, now: ContactDraft): string[] {
  const fields: string[] = FORM_FIELDS.filter((k) => opened[k] !== now[k]);
  const names = new Set([...Object.keys(opened.details), ...Object.keys(now.details)]);
  for (const n of [...names].sort()) {
    if (detailValue(opened, n) !== detailValue(now, n)) fields.push(n);
  }
  return fields;
}

/** Which input a backend validation error belongs to ("email" → the emails box). */
export function inputForErrorField(field: string | null): string | null {
  if (field === null) return null;
  if (field === 'email' || field === 'emails') return 'email';
  if (field === 'phone' || field === 'phones') return 'phone';
  return field;
}
