// The import wizard's mapping editor: one select per column. The backend
// detects a field for each column; whatever the user changes is kept by
// header as an override and sent back as `ColumnChoice[]` (overrides win
// over detection on the Rust side).

import type { ColumnChoice, ColumnDto } from '../bindings';

export const IGNORE = 'ignore';
/** The select's "custom…" entry: asks for a name, becomes `custom.NAME`. */
export const CUSTOM_PROMPT = '__custom__';
export const CUSTOM_PREFIX = 'custom.';

export interface MappingOption {
  value: string;
  label: string;
}

/** Overrides by column header. */
export type Overrides = Readonly<Record<string, string>>;

/** What a column's select shows: the user's choice, else the detected field, else ignore. */
export function currentField(column: ColumnDto, overrides: Overrides): string {
  return overrides[column.header] ?? column.field ?? IGNORE;
}

/** "first_name" → "First name"; "custom.Broker ref" → "Custom: Broker ref". */
export function fieldLabel(field: string): string {
  if (field === IGNORE) return 'Ignore this column';
  if (field.startsWith(CUSTOM_PREFIX)) return `Custom: ${field.slice(CUSTOM_PREFIX.length)}`;
  const words = field.replace(/_/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The choices of one column's select, its current value always among them. */
export function mappingOptions(importFields: readonly string[], current: string): MappingOption[] {
  const fields = importFields.filter((f) => f !== IGNORE);
  const opts: MappingOption[] = fields.map((f) => ({ value: f, label: fieldLabel(f) }));
  if (current !== IGNORE && !fields.includes(current)) opts.push({ value: current, label: fieldLabel(current) });
  opts.push({ value: CUSTOM_PROMPT, label: 'Custom field…' });
  opts.push({ value: IGNORE, label: fieldLabel(IGNORE) });
  return opts;
}

/** The field for a custom name the user typed, or null when there is no name. */
export function customField(name: string): string | null {
  let n = name.trim();
  if (n.toLowerCase().startsWith(CUSTOM_PREFIX)) n = n.slice(CUSTOM_PREFIX.length).trim();
  return n === '' ? null : CUSTOM_PREFIX + n;
}

/**
 * The overrides as the backend wants them: in column order, only for
 * headers the file has, one per header, never the "custom…" placeholder.
 */
export function toColumnChoices(columns: readonly ColumnDto[], overrides: Overrides): ColumnChoice[] {
  const seen = new Set<string>();
  const out: ColumnChoice[] = [];
  for (const col of columns) {
    if (seen.has(col.header)) continue;
    seen.add(col.header);
    const field = overrides[col.header];
    if (field === undefined || field === CUSTOM_PROMPT || field === '') continue;
    out.push({ column: col.header, field });
  }
  return out;
}
