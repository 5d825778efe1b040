// Screens are addressed by the URL hash (`#/contacts/<id>`), so the window's
// back/forward keys work and a reload stays on the same screen.

export type Route =
  | { name: 'dashboard' }
  | { name: 'contacts' }
  | { name: 'contact-new' }
  | { name: 'contact'; id: string }
  | { name: 'contact-edit'; id: string }
  | { name: 'policies' }
  | { name: 'payments' }
  | { name: 'tasks' }
  | { name: 'import' }
  | { name: 'plugins' }
  | { name: 'studio' }
  | { name: 'agency' }
  | { name: 'sync' }
  | { name: 'settings' };

const SIMPLE = ['dashboard', 'contacts', 'policies', 'payments', 'tasks', 'import', 'plugins', 'studio', 'agency', 'sync', 'settings'] as const;
type SimpleName = (typeof SIMPLE)[number];

function isSimple(s: string): s is SimpleName {
  return (SIMPLE as readonly string[]).includes(s);
}

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter((p) => p !== '').map(safeDecode);
  const [head, id, sub] = parts;
  if (head === 'contacts' && id !== undefined) {
    if (id === 'new') return { name: 'contact-new' };
    if (sub === 'edit') return { name: 'contact-edit', id };
    return { name: 'contact', id };
  }
  if (head !== undefined && isSimple(head)) return { name: head };
  return { name: 'dashboard' };
}

export function routeHref(r: Route): string {
  switch (r.name) {
    case 'contact-new':
      return '#/contacts/new';
    case 'contact':
      return `#/contacts/${encodeURIComponent(r.id)}`;
    case 'contact-edit':
      return `#/contacts/${encodeURIComponent(r.id)}/edit`;
    default:
      return `#/${r.name}`;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
