// manifest.json as the Studio's form edits it. The form and the raw JSON
// tab edit the same text: the form parses it, changes one value and prints
// it again. Every edit returns a new object and touches only the path it
// changes, so keys the form does not know survive and existing keys keep
// their order. The choices offered (action targets, setting types, …) and
// the new rows' shapes come from the published JSON Schema
// (schemas/plugin-manifest.schema.json, generated from the Rust types), so
// a value added there appears here with no UI change.

import schemaJson from '../../../schemas/plugin-manifest.schema.json';
import type { EditorDiagnosticDto, EditorReferenceDto, JsonValue } from '../bindings';

export type JsonObject = { [key: string]: JsonValue | undefined };

export type Parsed = { ok: true; value: JsonObject } | { ok: false; error: string };

/** A choice for a select box: the value and how it reads. */
export type Choice = { value: string; label: string };

/** The published schema, as plain JSON. */
export const MANIFEST_SCHEMA = schemaJson as JsonValue;

// ---- text ------------------------------------------------------------------

/** The manifest's text as an object, or why it is not one (with line and column). */
export function parseManifest(text: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: syntaxError(text) ?? (e instanceof Error ? e.message : String(e)) };
  }
  if (!isObject(value)) return { ok: false, error: 'The manifest must be one JSON object, between { and }.' };
  return { ok: true, value };
}

/** Pretty JSON: two-space indent and a trailing newline. */
export function printManifest(value: JsonObject): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/**
 * Where the first syntax error is, in words ("Line 3, column 5: expected
 * ',' or '}'"). Engines word JSON.parse errors differently (WebKit names no
 * position), so the text is scanned here.
 */
function syntaxError(text: string): string | null {
  let i = 0;
  const fail = (what: string): never => {
    throw new SyntaxAt(i, i >= text.length ? `${what}, but the text ends` : `${what}, found ${JSON.stringify(text[i])}`);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const str = () => {
    i++;
    for (;;) {
      if (i >= text.length) fail('a closing "');
      const c = text.charCodeAt(i);
      if (c === 34) break;
      if (c < 32) fail('a closing " (line breaks in text are written \\n)');
      if (c === 92) {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail('four hex digits after \\u');
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail('an escape such as \\" or \\n');
      }
      i++;
    }
    i++;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail('a name in double quotes');
        str();
        ws();
        if (text[i] !== ':') fail("':'");
        i++;
        value();
        ws();
        if (text[i] === '}') return void i++;
        if (text[i] !== ',') fail("',' or '}'");
        i++;
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ']') return void i++;
        if (text[i] !== ',') fail("',' or ']'");
        i++;
      }
    }
    if (c === '"') return str();
    const lit = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (!lit) fail('a value');
    i += lit![0].length;
  };
  try {
    value();
    ws();
    if (i < text.length) fail('nothing after the closing brace');
    return null;
  } catch (e) {
    if (!(e instanceof SyntaxAt)) return null;
    const before = text.slice(0, e.at);
    const line = before.split('\n').length;
    const column = e.at - before.lastIndexOf('\n');
    return `Line ${line}, column ${column}: expected ${e.what}`;
  }
}

class SyntaxAt {
  constructor(
    readonly at: number,
    readonly what: string,
  ) {}
}

// ---- edits -------------------------------------------------------------------

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `obj` with `key` set (in its place when it exists, else last); `undefined` removes it. */
function withKey(obj: JsonObject, key: string, value: JsonValue | undefined): JsonObject {
  if (value === undefined) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) return obj;
    const out: JsonObject = {};
    for (const k of Object.keys(obj)) if (k !== key) out[k] = obj[k];
    return out;
  }
  return { ...obj, [key]: value };
}

/** A top-level field set (`undefined` removes it). */
export function setField(m: JsonObject, key: string, value: JsonValue | undefined): JsonObject {
  return withKey(m, key, value);
}

/**
 * A list section: `permissions`, `hooks`, `actions`, `schedules`,
 * `settings`, `custom_fields`, or a UI slot such as `ui.widgets`.
 */
export type Section = string;

/** The section's items: `[]` when it is missing, `null` when it is there but not a list (the raw tab must fix it). */
export function itemsOf(m: JsonObject, section: Section): JsonValue[] | null {
  let at: JsonValue | undefined = m;
  for (const k of section.split('.')) {
    if (at === undefined) return [];
    if (!isObject(at)) return null;
    at = at[k];
  }
  if (at === undefined) return [];
  return Array.isArray(at) ? at : null;
}

/** `m` with the section's list replaced, creating the section (and `ui`) where missing. */
function withItems(m: JsonObject, section: Section, items: JsonValue[]): JsonObject {
  const keys = section.split('.');
  const put = (obj: JsonObject, depth: number): JsonObject => {
    const k = keys[depth]!;
    if (depth === keys.length - 1) return withKey(obj, k, items);
    const inner = obj[k];
    return withKey(obj, k, put(isObject(inner) ? inner : {}, depth + 1));
  };
  return put(m, 0);
}

/** An item added at the end (by default a new one shaped by the schema). */
export function addItem(m: JsonObject, section: Section, item: JsonValue = newItem(section)): JsonObject {
  const items = itemsOf(m, section);
  if (items === null) return m;
  return withItems(m, section, [...items, item]);
}

/** The item at `index` removed. */
export function removeItem(m: JsonObject, section: Section, index: number): JsonObject {
  const items = itemsOf(m, section);
  if (items === null || index < 0 || index >= items.length) return m;
  return withItems(m, section, items.filter((_, i) => i !== index));
}

/** The item at `index` replaced. */
export function updateItem(m: JsonObject, section: Section, index: number, item: JsonValue): JsonObject {
  const items = itemsOf(m, section);
  if (items === null || index < 0 || index >= items.length) return m;
  return withItems(m, section, items.map((x, i) => (i === index ? item : x)));
}

/** One key of the (object) item at `index` set, in its place; `undefined` removes it. */
export function setItemField(m: JsonObject, section: Section, index: number, key: string, value: JsonValue | undefined): JsonObject {
  const item = itemsOf(m, section)?.[index];
  if (!isObject(item)) return m;
  return updateItem(m, section, index, withKey(item, key, value));
}

/** A JSON path as the backend names it: `hooks[1]`, `ui.widgets[0].function`. */
export function itemPath(section: Section, index: number, key?: string): string {
  return `${section}[${index}]${key === undefined ? '' : `.${key}`}`;
}

// ---- problems ----------------------------------------------------------------

function normalPath(path: string): string {
  return path.startsWith('$.') ? path.slice(2) : path;
}

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);
}

/** The manifest problems at `path` or inside it (`hooks[1]` matches `hooks[1].function`, not `hooks[10]`). */
export function problemsAt(problems: readonly EditorDiagnosticDto[], path: string): EditorDiagnosticDto[] {
  return problems.filter((p) => p.file === 'manifest' && p.path !== null && under(normalPath(p.path), path));
}

/** The manifest problems at none of `shown` (nor inside them): the form lists these apart. */
export function otherProblems(problems: readonly EditorDiagnosticDto[], shown: readonly string[]): EditorDiagnosticDto[] {
  return problems.filter((p) => p.file === 'manifest' && !(p.path !== null && shown.some((s) => under(normalPath(p.path!), s))));
}

/** A problem's message without the path it starts with (shown beside its field, the path says nothing more). */
export function problemText(p: EditorDiagnosticDto): string {
  return p.path !== null && p.message.startsWith(`${p.path}: `) ? p.message.slice(p.path.length + 2) : p.message;
}

// ---- the schema --------------------------------------------------------------

/** The schema node at a path of keys, following `$ref`s on the way. */
function nodeAt(schema: JsonValue, keys: readonly string[]): JsonObject | null {
  let at: JsonValue | undefined = schema;
  for (const k of keys) {
    const node = deref(schema, at);
    if (!node) return null;
    at = node[k];
  }
  return deref(schema, at);
}

function deref(schema: JsonValue, node: JsonValue | undefined): JsonObject | null {
  for (let hops = 0; isObject(node) && typeof node.$ref === 'string' && hops < 16; hops++) {
    const path = node.$ref.replace(/^#\//, '').split('/');
    let target: JsonValue | undefined = schema;
    for (const k of path) target = isObject(target) ? target[k] : undefined;
    node = target;
  }
  return isObject(node) ? node : null;
}

/** The values a schema node enumerates (`enum`, or `const`s under `oneOf`/`anyOf`), each with its description. */
export function choicesAt(schema: JsonValue, keys: readonly string[]): Choice[] {
  const out: Choice[] = [];
  const walk = (node: JsonObject | null) => {
    if (!node) return;
    if (typeof node.const === 'string') out.push({ value: node.const, label: labelOf(node.const, node.description) });
    if (Array.isArray(node.enum)) for (const v of node.enum) if (typeof v === 'string') out.push({ value: v, label: v });
    for (const k of ['oneOf', 'anyOf']) {
      const list = node[k];
      if (Array.isArray(list)) for (const x of list) walk(deref(schema, x));
    }
    if (node.items !== undefined) walk(deref(schema, node.items));
  };
  walk(nodeAt(schema, keys));
  return out.filter((c, i) => out.findIndex((o) => o.value === c.value) === i);
}

function labelOf(value: string, description: JsonValue | undefined): string {
  return typeof description === 'string' && description !== '' ? description.replace(/\.$/, '') : value;
}

/** A schema node's description, without its final full stop ('' when it has none). */
export function describeAt(schema: JsonValue, keys: readonly string[]): string {
  const d = nodeAt(schema, keys)?.description;
  return typeof d === 'string' ? d.replace(/\.$/, '') : '';
}

/** A schema node's default when it is text (`entry` → `main.rhai`), for a placeholder. */
export function schemaDefault(keys: readonly string[], schema: JsonValue = MANIFEST_SCHEMA): string | undefined {
  const d = nodeAt(schema, keys)?.default;
  return typeof d === 'string' && d !== '' ? d : undefined;
}

/** The schema path of a section's item (`ui.widgets` → properties.ui.properties.widgets.items). */
function itemKeys(section: Section): string[] {
  return [...section.split('.').flatMap((k) => ['properties', k]), 'items'];
}

/** The schema path of a key of a section's item. */
export function fieldKeys(section: Section, key?: string): string[] {
  return key === undefined ? itemKeys(section) : [...itemKeys(section), 'properties', key];
}

/** The choices for a key of a section's items, from the schema (`[]`: the schema leaves it free text). */
export function fieldChoices(section: Section, key?: string, schema: JsonValue = MANIFEST_SCHEMA): Choice[] {
  return choicesAt(schema, fieldKeys(section, key));
}

/** A new item for a section: the schema's required keys, each with its first choice, `false`, `[]` or ''. */
export function newItem(section: Section, schema: JsonValue = MANIFEST_SCHEMA): JsonValue {
  const node = nodeAt(schema, itemKeys(section));
  if (!node || node.type !== 'object') return fieldChoices(section, undefined, schema)[0]?.value ?? '';
  const out: JsonObject = {};
  const required = Array.isArray(node.required) ? node.required : [];
  for (const k of required) {
    if (typeof k !== 'string') continue;
    const prop = nodeAt(schema, [...itemKeys(section), 'properties', k]);
    const first = fieldChoices(section, k, schema)[0];
    out[k] = first ? first.value : prop?.type === 'boolean' ? false : prop?.type === 'array' ? [] : '';
  }
  return out;
}

/** The UI slots the schema lists (`widgets`, `record_panels`, `menu_pages`), each with its description. */
export function uiSlots(schema: JsonValue = MANIFEST_SCHEMA): Choice[] {
  const props = nodeAt(schema, ['properties', 'ui', 'properties']);
  return props ? Object.keys(props).map((k) => ({ value: k, label: describeAt(schema, ['properties', 'ui', 'properties', k]) || k })) : [];
}

/**
 * Permissions to suggest: those the schema enumerates (none yet: it says
 * only "string"), then those the host functions need, as the editor's
 * reference names them (`contacts:read`, `net:https://host`).
 */
export function permissionSuggestions(reference: EditorReferenceDto | null, schema: JsonValue = MANIFEST_SCHEMA): string[] {
  const all = [...fieldChoices('permissions', undefined, schema).map((c) => c.value), ...(reference?.functions ?? []).flatMap((f) => (f.permission ? [f.permission] : []))];
  return [...new Set(all)];
}

// ---- values as the inputs show them -------------------------------------------

/** A value as a text box shows it. */
export function asText(v: JsonValue | undefined): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** One-per-line text as a list of strings (every line kept, so typing a new line survives the round trip). */
export function linesToList(text: string): string[] {
  return text === '' ? [] : text.split('\n');
}

/** A list of strings as one-per-line text. */
export function listToLines(v: JsonValue | undefined): string {
  return Array.isArray(v) ? v.map((x) => asText(x)).join('\n') : asText(v);
}

/**
 * A setting's default as typed, for its type: a number for `integer` and
 * `number` (the text kept when it is not one, so the backend names it),
 * `true`/`false` for `boolean`; '' means no default (`null` when the key is
 * already there, so it keeps its place).
 */
export function typedDefault(type: JsonValue | undefined, raw: string, had: boolean): JsonValue | undefined {
  if (raw === '' && type !== 'string') return had ? null : undefined;
  if (type === 'integer' || type === 'number') {
    const n = Number(raw);
    return raw.trim() !== '' && Number.isFinite(n) ? n : raw;
  }
  if (type === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  return raw;
}
