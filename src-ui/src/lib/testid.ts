// Test ids built from record ids: anything outside [a-zA-Z0-9_-] becomes '-',
// so `templates.renewal-reminders` gives `plugin-templates-renewal-reminders`.

export function idPart(raw: string): string {
  return raw.replace(/[^a-zA-Z0-9_-]/g, '-');
}

export function testId(prefix: string, ...parts: string[]): string {
  return [prefix, ...parts.map(idPart)].join('-');
}
