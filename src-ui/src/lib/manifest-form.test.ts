import { describe, expect, it } from 'vitest';
import schema from '../../../schemas/plugin-manifest.schema.json';
import type { EditorDiagnosticDto, EditorReferenceDto, JsonValue } from '../bindings';
import {
  addItem,
  asText,
  choicesAt,
  describeAt,
  fieldChoices,
  itemPath,
  itemsOf,
  linesToList,
  listToLines,
  newItem,
  otherProblems,
  parseManifest,
  permissionSuggestions,
  printManifest,
  problemText,
  problemsAt,
  removeItem,
  schemaDefault,
  setField,
  setItemField,
  typedDefault,
  uiSlots,
  updateItem,
  type JsonObject,
} from './manifest-form';

const TEXT = `{
  "id": "acme.lead-scoring",
  "name": "Lead scoring",
  "x_note": { "z": 1, "a": [true, null] },
  "version": "1.2.0",
  "permissions": ["contacts:read"],
  "hooks": [{ "function": "on_contact", "event": "contact.created", "priority": 3 }],
  "ui": { "menu_pages": [], "widgets": [{ "id": "top", "title": "Top", "kind": "table", "function": "widget" }] },
  "api_version": "^1"
}`;

function parsed(text = TEXT): JsonObject {
  const r = parseManifest(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

/** Frozen all the way down: an edit that mutates its input throws. */
function frozen<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) frozen(x);
    Object.freeze(v);
  }
  return v;
}

const problem = (path: string | null, message = 'bad', file = 'manifest'): EditorDiagnosticDto => ({
  file,
  severity: 'error',
  line: null,
  column: null,
  length: 0,
  path,
  message: path ? `${path}: ${message}` : message,
  fix: null,
});

/** What the schema enumerates at a `$defs` entry, read here without the module's walker. */
function defConsts(name: string): string[] {
  const defs = schema.$defs as Record<string, { oneOf?: { const: string }[]; enum?: string[] }>;
  const d = defs[name]!;
  return d.enum ?? (d.oneOf ?? []).map((o) => o.const);
}

describe('the manifest form model', () => {
  it('prints what it parsed unchanged: unknown keys kept, order kept', () => {
    const m = parsed();
    expect(printManifest(m)).toBe(JSON.stringify(JSON.parse(TEXT), null, 2) + '\n');
    expect(Object.keys(parsed(printManifest(m)))).toEqual(['id', 'name', 'x_note', 'version', 'permissions', 'hooks', 'ui', 'api_version']);
    expect(printManifest(m).endsWith('}\n')).toBe(true);
    expect(printManifest(m)).toContain('\n  "name": "Lead scoring",\n');
  });

  it('edits keep unknown keys and the order of existing ones, and never mutate their input', () => {
    const m = frozen(parsed());
    const named = setField(m, 'name', 'Scores');
    expect(Object.keys(named)).toEqual(Object.keys(m));
    expect(named.name).toBe('Scores');
    expect(named.x_note).toBe(m.x_note);
    const hooked = setItemField(m, 'hooks', 0, 'event', 'contact.updated');
    expect(hooked.hooks).toEqual([{ function: 'on_contact', event: 'contact.updated', priority: 3 }]);
    expect(Object.keys((hooked.hooks as JsonObject[])[0]!)).toEqual(['function', 'event', 'priority']);
    expect(m.name).toBe('Lead scoring');
    expect(setField(m, 'author', 'Ann').author).toBe('Ann');
    expect(Object.keys(setField(m, 'author', 'Ann')).pop()).toBe('author');
    expect('version' in setField(m, 'version', undefined)).toBe(false);
  });

  it('adds, updates and removes items in every list section', () => {
    const m = frozen(parsed());
    for (const section of ['permissions', 'hooks', 'actions', 'schedules', 'settings', 'custom_fields', 'ui.widgets', 'ui.record_panels', 'ui.menu_pages']) {
      const before = itemsOf(m, section)!.length;
      const added = addItem(m, section);
      expect(itemsOf(added, section)).toHaveLength(before + 1);
      const updated = updateItem(added, section, before, 'changed');
      expect(itemsOf(updated, section)![before]).toBe('changed');
      expect(itemsOf(removeItem(updated, section, before), section)).toEqual(itemsOf(m, section));
      expect(Object.keys(added).slice(0, 8)).toEqual(Object.keys(m));
    }
    // A new UI slot goes inside the existing `ui`, after its keys.
    expect(Object.keys(addItem(m, 'ui.record_panels').ui as JsonObject)).toEqual(['menu_pages', 'widgets', 'record_panels']);
    expect(itemsOf(removeItem(m, 'permissions', 0), 'permissions')).toEqual([]);
    expect(itemsOf(updateItem(m, 'permissions', 0, 'storage'), 'permissions')).toEqual(['storage']);
    // Out of range and non-list sections change nothing.
    expect(removeItem(m, 'hooks', 5)).toBe(m);
    const odd = parsed('{"hooks": "none", "ui": 3}');
    expect(itemsOf(odd, 'hooks')).toBeNull();
    expect(itemsOf(odd, 'ui.widgets')).toBeNull();
    expect(addItem(odd, 'hooks')).toBe(odd);
    expect(itemsOf(parsed('{}'), 'ui.widgets')).toEqual([]);
    expect(addItem(parsed('{}'), 'ui.widgets').ui).toEqual({ widgets: [newItem('ui.widgets')] });
  });

  it('makes new items from the schema’s required keys', () => {
    expect(newItem('hooks')).toEqual({ event: (schema.$defs.Hook.properties.event as { enum: string[] }).enum[0], function: '' });
    expect(newItem('actions')).toEqual({ id: '', label: '', target: defConsts('ActionTarget')[0], function: '' });
    expect(newItem('settings')).toEqual({ key: '', label: '', type: defConsts('SettingType')[0] });
    expect(newItem('permissions')).toBe('');
    expect(Object.keys(newItem('custom_fields') as JsonObject)).toEqual(schema.$defs.CustomField.required);
  });

  it('reports broken JSON with its line and column instead of throwing', () => {
    expect(parseManifest('{\n  "id": "x",\n}')).toEqual({ ok: false, error: 'Line 3, column 1: expected a name in double quotes, found "}"' });
    expect(parseManifest('{"id": "x"')).toEqual({ ok: false, error: 'Line 1, column 11: expected \',\' or \'}\', but the text ends' });
    expect(parseManifest('{"a": [1 2]}')).toMatchObject({ ok: false, error: expect.stringContaining('column 10') });
    expect(parseManifest('{} x')).toMatchObject({ ok: false, error: expect.stringContaining('nothing after the closing brace') });
    expect(parseManifest('')).toMatchObject({ ok: false });
    expect(parseManifest('[1]')).toMatchObject({ ok: false, error: expect.stringContaining('one JSON object') });
    expect(parseManifest('{"a": "b\\q"}')).toMatchObject({ ok: false, error: expect.stringContaining('escape') });
    expect(parseManifest('{"a": -1.5e3, "b": "\\u00e9"}')).toEqual({ ok: true, value: { a: -1500, b: 'é' } });
  });

  it('offers the choices the schema enumerates', () => {
    expect(fieldChoices('actions', 'target').map((c) => c.value)).toEqual(defConsts('ActionTarget'));
    expect(fieldChoices('actions', 'target').find((c) => c.value === 'global')?.label).toBe('Not tied to a record');
    expect(fieldChoices('settings', 'type').map((c) => c.value)).toEqual(defConsts('SettingType'));
    expect(fieldChoices('custom_fields', 'type').map((c) => c.value)).toEqual(defConsts('SettingType'));
    expect(uiSlots().map((s) => s.value)).toEqual(Object.keys(schema.$defs.Ui.properties));
    expect(schemaDefault(['properties', 'entry'])).toBe(schema.properties.entry.default);
    expect(schemaDefault(['properties', 'description'])).toBeUndefined();
    expect(describeAt(schema, ['properties', 'hooks'])).toBe('Events it listens to, each with the function to call');
    // Events: exactly what the schema enumerates for a hook's event (from the Rust HOOKS list).
    const hook = schema.$defs.Hook.properties.event as { enum?: string[] };
    expect(fieldChoices('hooks', 'event').map((c) => c.value)).toEqual(hook.enum);
    expect(fieldChoices('hooks', 'event').map((c) => c.value)).toContain('contact.created');
  });

  it('offers a new event as soon as the schema enumerates it', () => {
    const extended = JSON.parse(JSON.stringify(schema)) as { $defs: { Hook: { properties: { event: { enum?: string[] } } } } };
    extended.$defs.Hook.properties.event.enum = ['contact.created', 'contact.updated', 'policy.renewal_due'];
    const events = fieldChoices('hooks', 'event', extended as unknown as JsonValue);
    expect(events.map((c) => c.value)).toContain('contact.created');
    expect(events.map((c) => c.value)).toEqual(extended.$defs.Hook.properties.event.enum);
    expect(newItem('hooks', extended as unknown as JsonValue)).toEqual({ event: 'contact.created', function: '' });
    // anyOf branches without a const (a pattern) add nothing.
    expect(choicesAt({ anyOf: [{ const: 'storage' }, { type: 'string', pattern: '^net:' }] }, [])).toEqual([{ value: 'storage', label: 'storage' }]);
  });

  it('suggests the permissions host functions need, once each', () => {
    const fn = (permission: string | null) => ({ module: 'm', name: 'f', params: [], returns: null, doc: '', permission });
    const reference: EditorReferenceDto = { functions: [fn('contacts:read'), fn(null), fn('contacts:read'), fn('net:https://host')], records: [] };
    expect(permissionSuggestions(reference)).toEqual(['contacts:read', 'net:https://host']);
    expect(permissionSuggestions(null)).toEqual([]);
  });

  it('picks the problems at a path or inside it', () => {
    const problems = [
      problem('hooks[1].function'),
      problem('hooks[1]'),
      problem('hooks[10].event'),
      problem('$.hooks[1].event', 'control character'),
      problem('permissions[2]'),
      problem('ui.widgets[0].kind'),
      problem(null, 'manifest.json is not valid JSON'),
      problem(null, 'main.rhai: oops', 'script'),
    ];
    expect(problemsAt(problems, 'hooks[1]').map((p) => p.path)).toEqual(['hooks[1].function', 'hooks[1]', '$.hooks[1].event']);
    expect(problemsAt(problems, itemPath('hooks', 1, 'function'))).toHaveLength(1);
    expect(problemsAt(problems, 'hooks').map((p) => p.path)).toEqual(['hooks[1].function', 'hooks[1]', 'hooks[10].event', '$.hooks[1].event']);
    expect(problemsAt(problems, 'permissions[2]')).toHaveLength(1);
    expect(problemsAt(problems, 'permissions[20]')).toHaveLength(0);
    expect(problemsAt(problems, itemPath('ui.widgets', 0))).toHaveLength(1);
    expect(otherProblems(problems, ['hooks', 'permissions']).map((p) => p.message)).toEqual(['ui.widgets[0].kind: bad', 'manifest.json is not valid JSON']);
    expect(problemText(problems[0]!)).toBe('bad');
    expect(problemText(problems[6]!)).toBe('manifest.json is not valid JSON');
  });

  it('shows values in inputs and reads them back', () => {
    expect(asText(undefined)).toBe('');
    expect(asText(3)).toBe('3');
    expect(listToLines(['a', 'b'])).toBe('a\nb');
    expect(linesToList('a\n')).toEqual(['a', '']);
    expect(listToLines(linesToList('a\n'))).toBe('a\n');
    expect(linesToList('')).toEqual([]);
    expect(typedDefault('integer', '12', false)).toBe(12);
    expect(typedDefault('number', '1.', false)).toBe(1);
    expect(typedDefault('integer', 'x', false)).toBe('x');
    expect(typedDefault('integer', '', true)).toBeNull();
    expect(typedDefault('integer', '', false)).toBeUndefined();
    expect(typedDefault('boolean', 'true', false)).toBe(true);
    expect(typedDefault('string', '', true)).toBe('');
  });
});
