// The current screen, kept in step with the URL hash.

import { signal } from '@preact/signals';
import { parseRoute, routeHref, type Route } from '../lib/route';

export const route = signal<Route>(parseRoute(typeof location === 'undefined' ? '' : location.hash));

if (typeof window !== 'undefined') {
  window.addEventListener('hashchange', () => {
    route.value = parseRoute(location.hash);
  });
}

export function navigate(r: Route): void {
  const href = routeHref(r);
  if (location.hash !== href) location.hash = href;
  else route.value = r;
}
