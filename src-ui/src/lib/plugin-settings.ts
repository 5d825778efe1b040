// A plugin's settings form is generated from its declared fields. Values are
// edited as strings and sent "as typed"; the backend does the final
// validation (errors come back as `invalid` with field = the setting key),
// this catches the obvious mistakes before a round trip.

import type { SettingFieldDto } from '../bindings';

export type SettingValues = Record<string, string>;
export type SettingErrors = Record<string, string>;

/** What the form starts with. Secrets never arrive, so they start empty. */
export function initialValues(fields: readonly SettingFieldDto[]): SettingValues {
  const out: SettingValues = {};
  for (const f of fields) out[f.key] = f.kind === 'secret' ? '' : valueToText(f.value, f.kind);
  return out;
}

function valueToText(v: unknown, kind: string): string {
  if (kind === 'boolean') return v === true || v === 'true' ? 'true' : 'false';
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    return '';
  }
}

const INTEGER = /^[+-]?\d+$/;

/** Problems by setting key; empty when the form may be sent. */
export function validateSettings(fields: readonly SettingFieldDto[], values: SettingValues): SettingErrors {
  const errors: SettingErrors = {};
  for (const f of fields) {
    const raw = (values[f.key] ?? '').trim();
    if (raw === '') {
      const keptSecret = f.kind === 'secret' && f.is_set;
      if (f.required && !keptSecret && f.kind !== 'boolean') errors[f.key] = 'required';
      continue;
    }
    if (f.kind === 'integer' && !INTEGER.test(raw)) errors[f.key] = 'enter a whole number';
    else if (f.kind === 'number' && !Number.isFinite(Number(raw))) errors[f.key] = 'enter a number';
    else if (f.choices.length > 0 && !f.choices.includes(raw)) errors[f.key] = `choose one of: ${f.choices.join(', ')}`;
  }
  return errors;
}

/** The values for `plugin_configure`: trimmed, booleans as "true"/"false", secrets as typed. */
export function settingsPayload(fields: readonly SettingFieldDto[], values: SettingValues): SettingValues {
  const out: SettingValues = {};
  for (const f of fields) {
    const raw = values[f.key] ?? '';
    if (f.kind === 'boolean') out[f.key] = raw === 'true' ? 'true' : 'false';
    else if (f.kind === 'secret') out[f.key] = raw;
    else out[f.key] = raw.trim();
  }
  return out;
}
