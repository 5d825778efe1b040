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
  | { name: 'settings' }
  | { name: 'documents' }
  | { name: 'document'; id: string }
  | { name: 'doc-view'; id: string; version: number; page: number; start?: number; end?: number }
  | { name: 'ask' }
  | { name: 'compliance' }
  | { name: 'compliance-staff' }
  | { name: 'compliance-staff-new' }
  | { name: 'compliance-person'; id: string }
  | { name: 'compliance-person-edit'; id: string }
  | { name: 'compliance-matrix' }
  | { name: 'compliance-courses' }
  | { name: 'compliance-policies' }
  | { name: 'compliance-policy'; id: string }
  | { name: 'compliance-reading' };

const SIMPLE = ['dashboard', 'contacts', 'policies', 'payments', 'tasks', 'import', 'plugins', 'studio', 'agency', 'sync', 'settings', 'documents', 'ask'] as const;
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
  if (head === 'documents' && id !== undefined) {
    if (sub === 'view') {
      const [version, page, start, end] = parts.slice(3).map((p) => Number.parseInt(p, 10));
      const r: Route = { name: 'doc-view', id, version: positive(version, 1), page: positive(page, 1) };
      if (start !== undefined && end !== undefined && Number.isFinite(start) && Number.isFinite(end) && start >= 0 && end > start) {
        r.start = start;
        r.end = end;
      }
      return r;
    }
    return { name: 'document', id };
  }
  if (head === 'compliance') {
    if (id === undefined) return { name: 'compliance' };
    if (id === 'staff') {
      if (sub === undefined) return { name: 'compliance-staff' };
      if (sub === 'new') return { name: 'compliance-staff-new' };
      if (parts[3] === 'edit') return { name: 'compliance-person-edit', id: sub };
      return { name: 'compliance-person', id: sub };
    }
    if (id === 'policies') return sub === undefined ? { name: 'compliance-policies' } : { name: 'compliance-policy', id: sub };
    if (id === 'matrix') return { name: 'compliance-matrix' };
    if (id === 'courses') return { name: 'compliance-courses' };
    if (id === 'reading') return { name: 'compliance-reading' };
    return { name: 'compliance' };
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
    case 'document':
      return `#/documents/${encodeURIComponent(r.id)}`;
    case 'doc-view': {
      const span = r.start !== undefined && r.end !== undefined ? `/${r.start}/${r.end}` : '';
      return `#/documents/${encodeURIComponent(r.id)}/view/${r.version}/${r.page}${span}`;
    }
    case 'compliance-staff':
      return '#/compliance/staff';
    case 'compliance-staff-new':
      return '#/compliance/staff/new';
    case 'compliance-person':
      return `#/compliance/staff/${encodeURIComponent(r.id)}`;
    case 'compliance-person-edit':
      return `#/compliance/staff/${encodeURIComponent(r.id)}/edit`;
    case 'compliance-matrix':
      return '#/compliance/matrix';
    case 'compliance-courses':
      return '#/compliance/courses';
    case 'compliance-policies':
      return '#/compliance/policies';
    case 'compliance-policy':
      return `#/compliance/policies/${encodeURIComponent(r.id)}`;
    case 'compliance-reading':
      return '#/compliance/reading';
    default:
      return `#/${r.name}`;
  }
}

function positive(n: number | undefined, fallback: number): number {
  return n !== undefined && Number.isFinite(n) && n >= 1 ? n : fallback;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
