import { describe, expect, it } from 'vitest';
import { parseRoute, routeHref, type Route } from './route';

describe('routes', () => {
  it('parses screens and contacts', () => {
    expect(parseRoute('')).toEqual({ name: 'dashboard' });
    expect(parseRoute('#/import')).toEqual({ name: 'import' });
    expect(parseRoute('#/contacts/new')).toEqual({ name: 'contact-new' });
    expect(parseRoute('#/contacts/abc')).toEqual({ name: 'contact', id: 'abc' });
    expect(parseRoute('#/contacts/abc/edit')).toEqual({ name: 'contact-edit', id: 'abc' });
    expect(parseRoute('#/nowhere')).toEqual({ name: 'dashboard' });
    expect(parseRoute('#/contacts/%E0')).toEqual({ name: 'contact', id: '%E0' });
    expect(parseRoute('#/documents/d1/view/2/5/0/12')).toEqual({ name: 'doc-view', id: 'd1', version: 2, page: 5, start: 0, end: 12 });
    // A span that is not one, a page that is not a number: the page alone, page 1.
    expect(parseRoute('#/documents/d1/view/2/x/9/3')).toEqual({ name: 'doc-view', id: 'd1', version: 2, page: 1 });
  });

  it('parses the compliance area', () => {
    expect(parseRoute('#/compliance')).toEqual({ name: 'compliance' });
    expect(parseRoute('#/compliance/staff/new')).toEqual({ name: 'compliance-staff-new' });
    expect(parseRoute('#/compliance/staff/s1')).toEqual({ name: 'compliance-person', id: 's1' });
    expect(parseRoute('#/compliance/staff/s1/edit')).toEqual({ name: 'compliance-person-edit', id: 's1' });
    expect(parseRoute('#/compliance/policies/d1')).toEqual({ name: 'compliance-policy', id: 'd1' });
    expect(parseRoute('#/compliance/elsewhere')).toEqual({ name: 'compliance' });
  });

  it('round-trips', () => {
    const routes: Route[] = [
      { name: 'contact', id: 'a b/c' },
      { name: 'contact-edit', id: 'x' },
      { name: 'sync' },
      { name: 'contact-new' },
      { name: 'documents' },
      { name: 'ask' },
      { name: 'document', id: '01a2-b' },
      { name: 'doc-view', id: '01a2-b', version: 3, page: 7, start: 10, end: 250 },
      { name: 'doc-view', id: 'x', version: 1, page: 1 },
      { name: 'compliance' },
      { name: 'compliance-staff' },
      { name: 'compliance-staff-new' },
      { name: 'compliance-person', id: '0190-ab' },
      { name: 'compliance-person-edit', id: '0190-ab' },
      { name: 'compliance-matrix' },
      { name: 'compliance-courses' },
      { name: 'compliance-policies' },
      { name: 'compliance-policy', id: 'doc 1' },
      { name: 'compliance-reading' },
    ];
    for (const r of routes) expect(parseRoute(routeHref(r))).toEqual(r);
  });
});
