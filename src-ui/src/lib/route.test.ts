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
  });

  it('round-trips', () => {
    const routes: Route[] = [{ name: 'contact', id: 'a b/c' }, { name: 'contact-edit', id: 'x' }, { name: 'sync' }, { name: 'contact-new' }];
    for (const r of routes) expect(parseRoute(routeHref(r))).toEqual(r);
  });
});
