// manifest.json as a form, with the raw JSON one tab away: both edit the
// same text. Each edit parses the text, changes one value and prints it
// again (keys the form does not know stay, in their order). The choices and
// the cards' explanations come from the published schema; each problem the
// backend finds is shown beside its field.

import { useId } from 'preact/hooks';
import type { EditorDiagnosticDto, EditorReferenceDto, JsonValue } from '../bindings';
import { Field, inputValue } from '../components/ui';
import {
  MANIFEST_SCHEMA,
  addItem,
  asText,
  describeAt,
  fieldChoices,
  fieldKeys,
  itemPath,
  itemsOf,
  linesToList,
  listToLines,
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
  type Choice,
  type JsonObject,
} from '../lib/manifest-form';

type Edit = (f: (m: JsonObject) => JsonObject) => void;

/** A field of a list item: its key, its label, and how it is typed. */
type Col = { key: string; label: string; kind?: 'text' | 'check' | 'lines' | 'default'; hint?: boolean; span?: boolean };

/** A list section: where it is, what one item is called (test ids, buttons) and its fields. */
type ListSpec = { section: string; noun: string; title: string; add: string; cols: Col[] };

const FUNCTION: Col = { key: 'function', label: 'Function to call' };
const ID: Col = { key: 'id', label: 'Id', hint: true };

const LISTS: ListSpec[] = [
  {
    section: 'hooks',
    noun: 'hook',
    title: 'Runs when something happens',
    add: 'Add an event',
    cols: [{ key: 'event', label: 'Runs when', hint: true }, FUNCTION],
  },
  {
    section: 'actions',
    noun: 'action',
    title: 'Buttons',
    add: 'Add a button',
    cols: [{ key: 'label', label: 'Button text' }, { key: 'target', label: 'Shown on' }, FUNCTION, ID],
  },
  {
    section: 'schedules',
    noun: 'schedule',
    title: 'Timed runs',
    add: 'Add a timed run',
    cols: [{ key: 'cron', label: 'When (cron)', hint: true }, FUNCTION, ID],
  },
  {
    section: 'settings',
    noun: 'setting',
    title: 'Settings an admin fills in',
    add: 'Add a setting',
    cols: [
      { key: 'label', label: 'Label on the form' },
      { key: 'key', label: 'Key scripts read it by' },
      { key: 'type', label: 'Type' },
      { key: 'default', label: 'Default', kind: 'default' },
      { key: 'choices', label: 'Choices, one per line (empty: anything)', kind: 'lines' },
      { key: 'required', label: 'Must be filled in before switching on', kind: 'check' },
    ],
  },
  {
    section: 'custom_fields',
    noun: 'custom-field',
    title: 'Custom fields',
    add: 'Add a custom field',
    cols: [
      { key: 'label', label: 'Label' },
      { key: 'name', label: 'Field name', hint: true },
      { key: 'entity', label: 'On records of type', hint: true },
      { key: 'type', label: 'Type' },
    ],
  },
];

const UI_COLS: Col[] = [{ key: 'title', label: 'Title' }, { key: 'kind', label: 'Kind', hint: true }, { key: 'function', label: 'Function returning the data' }, ID];

/** The basics: key, plain label, and whether it is a paragraph. */
const BASICS: [string, string, boolean][] = [
  ['name', 'Name', false],
  ['id', 'Plugin id', false],
  ['version', 'Version', false],
  ['api_version', 'Works with host API version', false],
  ['author', 'Author', false],
  ['entry', 'Script file', false],
  ['description', 'What it does', true],
];

const dash = (s: string) => s.replace(/_/g, '-');
const plain = (s: string) => s.replace(/`/g, '');
const joined = (ps: EditorDiagnosticDto[]) => (ps.length ? ps.map(problemText).join(' ') : null);

function schemaProps(): string[] {
  const props = (MANIFEST_SCHEMA as JsonObject).properties;
  return props && typeof props === 'object' && !Array.isArray(props) ? Object.keys(props) : [];
}

function schemaRequired(): JsonValue[] {
  const r = (MANIFEST_SCHEMA as JsonObject).required;
  return Array.isArray(r) ? r : [];
}

export function ManifestForm(props: {
  manifest: string;
  problems: EditorDiagnosticDto[];
  onChange: (text: string) => void;
  /** The editor's reference: the permissions host functions need are suggested. */
  reference?: EditorReferenceDto | null;
}) {
  const parsed = parseManifest(props.manifest);
  if (!parsed.ok) {
    return (
      <div class="alert" role="alert" data-testid="mf-json-error">
        <strong>Fix the JSON in the raw tab first</strong>
        <span>The form can show this manifest again once it is valid JSON. {parsed.error}</span>
      </div>
    );
  }
  const m = parsed.value;
  const edit: Edit = (f) => props.onChange(printManifest(f(m)));
  const known = schemaProps();
  const basics = BASICS.filter(([k]) => known.includes(k));
  const lists = LISTS.filter((l) => known.includes(l.section));
  const other = otherProblems(props.problems, [...basics.map(([k]) => k), 'permissions', ...lists.map((l) => l.section), 'ui']);

  return (
    <div class="stack" data-testid="manifest-form">
      {other.length > 0 && (
        <div class="alert" role="alert" data-testid="mf-other-problems">
          <strong>Problems in parts the form does not show (fix them in the raw tab)</strong>
          <ul class="dry-list">
            {other.map((p, i) => (
              <li key={i}>{p.message}</li>
            ))}
          </ul>
        </div>
      )}
      <section class="card stack-sm" aria-labelledby="mf-basics-h">
        <h2 id="mf-basics-h">About the plugin</h2>
        <div class="form-grid">
          {basics.map(([key, label, long]) => (
            <Field
              key={key}
              label={label}
              name={`mf-${dash(key)}`}
              required={schemaRequired().includes(key)}
              error={joined(problemsAt(props.problems, key))}
              hint={plain(describeAt(MANIFEST_SCHEMA, ['properties', key]))}
              class={long ? 'span-2' : ''}
            >
              {(a) =>
                long ? (
                  <textarea {...a} class="textarea" data-testid={`mf-${dash(key)}`} value={asText(m[key])} onInput={(e) => edit((x) => setField(x, key, inputValue(e)))} />
                ) : (
                  <input {...a} class="input" data-testid={`mf-${dash(key)}`} placeholder={schemaDefault(['properties', key])} value={asText(m[key])} onInput={(e) => edit((x) => setField(x, key, inputValue(e)))} />
                )
              }
            </Field>
          ))}
        </div>
      </section>
      {known.includes('permissions') && <Permissions m={m} problems={props.problems} edit={edit} suggestions={permissionSuggestions(props.reference ?? null)} />}
      {lists.map((l) => (
        <ListCard key={l.section} m={m} spec={l} problems={props.problems} edit={edit} />
      ))}
      {known.includes('ui') && <UiCard m={m} problems={props.problems} edit={edit} />}
    </div>
  );
}

/** A section that is there but not a list, or problems at the section itself. */
function SectionProblems(props: { m: JsonObject; section: string; noun: string; problems: EditorDiagnosticDto[] }) {
  const items = itemsOf(props.m, props.section);
  const own = otherProblems(problemsAt(props.problems, props.section), (items ?? []).map((_, i) => itemPath(props.section, i)));
  return (
    <>
      {items === null && <p class="field-error">This part is not a list: fix it in the raw JSON tab.</p>}
      {own.length > 0 && (
        <p class="field-error" data-testid={`mf-${props.noun}-problems`}>
          {own.map(problemText).join(' ')}
        </p>
      )}
    </>
  );
}

function Permissions(props: { m: JsonObject; problems: EditorDiagnosticDto[]; edit: Edit; suggestions: string[] }) {
  const listId = useId();
  const items = itemsOf(props.m, 'permissions');
  return (
    <section class="card stack-sm" aria-labelledby="mf-permissions-h">
      <div>
        <h2 id="mf-permissions-h">Allowed to</h2>
        <p class="muted small">{describeAt(MANIFEST_SCHEMA, ['properties', 'permissions'])}. For example contacts:read, storage, or net:https://api.example.com to reach one web address.</p>
      </div>
      <SectionProblems m={props.m} section="permissions" noun="permission" problems={props.problems} />
      {items?.length === 0 && <p class="muted small">Nothing yet: the plugin can only run its own code.</p>}
      <datalist id={listId}>
        {props.suggestions.map((s) => (
          <option key={s} value={s} />
        ))}
      </datalist>
      {items?.map((p, i) => {
        const error = joined(problemsAt(props.problems, itemPath('permissions', i)));
        return (
          <div class="wizard-row" key={i}>
            <input
              class="input spacer"
              list={listId}
              aria-label={`Permission ${i + 1}`}
              aria-invalid={error !== null}
              data-testid={`mf-permission-${i}`}
              value={asText(p)}
              onInput={(e) => props.edit((x) => updateItem(x, 'permissions', i, inputValue(e)))}
            />
            <button type="button" class="btn btn-sm" aria-label={`Remove permission ${i + 1}`} data-testid={`mf-remove-permission-${i}`} onClick={() => props.edit((x) => removeItem(x, 'permissions', i))}>
              ✕
            </button>
            {error && (
              <span class="field-error wizard-row-error" data-testid={`error-mf-permission-${i}`}>
                {error}
              </span>
            )}
          </div>
        );
      })}
      {items !== null && (
        <div class="row">
          <button type="button" class="btn btn-sm" data-testid="mf-add-permission" onClick={() => props.edit((x) => addItem(x, 'permissions'))}>
            Add a permission
          </button>
        </div>
      )}
    </section>
  );
}

function ListCard(props: { m: JsonObject; spec: ListSpec; problems: EditorDiagnosticDto[]; edit: Edit }) {
  const s = props.spec;
  const headId = useId();
  return (
    <section class="card stack-sm" aria-labelledby={headId} data-testid={`mf-${s.noun}s`}>
      <div>
        <h2 id={headId}>{s.title}</h2>
        <p class="muted small">{plain(describeAt(MANIFEST_SCHEMA, ['properties', s.section]))}.</p>
      </div>
      <Items m={props.m} section={s.section} noun={s.noun} add={s.add} cols={s.cols} problems={props.problems} edit={props.edit} />
    </section>
  );
}

function UiCard(props: { m: JsonObject; problems: EditorDiagnosticDto[]; edit: Edit }) {
  const ui = props.m.ui;
  const own = otherProblems(problemsAt(props.problems, 'ui'), uiSlots().map((u) => `ui.${u.value}`));
  return (
    <section class="card stack-sm" aria-labelledby="mf-ui-h" data-testid="mf-ui">
      <div>
        <h2 id="mf-ui-h">Screens it adds</h2>
        <p class="muted small">{plain(describeAt(MANIFEST_SCHEMA, ['properties', 'ui']))}. A function returns the data; the app draws it.</p>
      </div>
      {ui !== undefined && (ui === null || typeof ui !== 'object' || Array.isArray(ui)) && <p class="field-error">This part is not an object: fix it in the raw JSON tab.</p>}
      {own.length > 0 && (
        <p class="field-error" data-testid="mf-ui-problems">
          {own.map(problemText).join(' ')}
        </p>
      )}
      {uiSlots().map((slot) => {
        const noun = dash(slot.value).replace(/s$/, '');
        return (
          <div class="stack-sm" key={slot.value} data-testid={`mf-${noun}s`}>
            <h3>{slot.label}</h3>
            <Items m={props.m} section={`ui.${slot.value}`} noun={noun} add={`Add to ${slot.label.toLowerCase()}`} cols={UI_COLS} problems={props.problems} edit={props.edit} />
          </div>
        );
      })}
    </section>
  );
}

function Items(props: { m: JsonObject; section: string; noun: string; add: string; cols: Col[]; problems: EditorDiagnosticDto[]; edit: Edit }) {
  const { section, noun } = props;
  const items = itemsOf(props.m, section);
  return (
    <>
      <SectionProblems m={props.m} section={section} noun={noun} problems={props.problems} />
      {items?.length === 0 && <p class="muted small">None yet.</p>}
      {items?.map((item, i) => (
        <div class="card-sub stack-sm" key={i} data-testid={`mf-${noun}-${i}`}>
          {item !== null && typeof item === 'object' && !Array.isArray(item) ? (
            <ItemFields item={item} section={section} index={i} noun={noun} cols={props.cols} problems={props.problems} edit={props.edit} />
          ) : (
            <p class="field-error">This entry is not an object: edit it in the raw JSON tab.</p>
          )}
          <div class="row">
            <span class="spacer" />
            <button type="button" class="btn btn-sm" data-testid={`mf-remove-${noun}-${i}`} onClick={() => props.edit((x) => removeItem(x, section, i))}>
              Remove
            </button>
          </div>
        </div>
      ))}
      {items !== null && (
        <div class="row">
          <button type="button" class="btn btn-sm" data-testid={`mf-add-${noun}`} onClick={() => props.edit((x) => addItem(x, section))}>
            {props.add}
          </button>
        </div>
      )}
    </>
  );
}

function ItemFields(props: { item: JsonObject; section: string; index: number; noun: string; cols: Col[]; problems: EditorDiagnosticDto[]; edit: Edit }) {
  const { item, section, index: i } = props;
  const set = (key: string, value: JsonValue | undefined) => props.edit((x) => setItemField(x, section, i, key, value));
  const cols = props.cols.filter((c) => c.kind !== 'default' || item.type !== 'secret' || (item.default !== undefined && item.default !== null));
  const rest = otherProblems(problemsAt(props.problems, itemPath(section, i)), cols.map((c) => itemPath(section, i, c.key)));
  return (
    <>
      <div class="form-grid">
        {cols.map((c) => {
          const testid = `mf-${props.noun}-${i}-${dash(c.key)}`;
          const error = joined(problemsAt(props.problems, itemPath(section, i, c.key)));
          if (c.kind === 'check') {
            return (
              <div class="field span-2" key={c.key}>
                <label class="check">
                  <input type="checkbox" data-testid={testid} checked={item[c.key] === true} onChange={(e) => set(c.key, (e.currentTarget as HTMLInputElement).checked || (item[c.key] === undefined ? undefined : false))} />
                  <span>{c.label}</span>
                </label>
                {error && (
                  <span class="field-error" data-testid={`error-${testid}`}>
                    {error}
                  </span>
                )}
              </div>
            );
          }
          const hint = c.hint ? plain(describeAt(MANIFEST_SCHEMA, fieldKeys(section, c.key))) : undefined;
          return (
            <Field key={c.key} label={c.label} name={testid} error={error} hint={hint} class={c.kind === 'lines' ? 'span-2' : ''}>
              {(a) => <Control a={a} c={c} item={item} section={section} testid={testid} set={set} />}
            </Field>
          );
        })}
      </div>
      {rest.length > 0 && (
        <p class="field-error" data-testid={`mf-${props.noun}-${i}-problems`}>
          {rest.map(problemText).join(' ')}
        </p>
      )}
    </>
  );
}

type Aria = { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string };

/** One field's input: a select when the schema enumerates its values, else a text box. */
function Control(props: { a: Aria; c: Col; item: JsonObject; section: string; testid: string; set: (key: string, value: JsonValue | undefined) => void }) {
  const { a, c, item, testid, set } = props;
  const value = item[c.key];
  if (c.kind === 'lines') {
    return <textarea {...a} class="textarea" rows={3} data-testid={testid} value={listToLines(value)} onInput={(e) => set(c.key, inputValue(e) === '' && value === undefined ? undefined : linesToList(inputValue(e)))} />;
  }
  if (c.kind === 'default') {
    const type = item.type;
    const had = value !== undefined;
    if (type === 'boolean') {
      const shown = value === true ? 'true' : value === false ? 'false' : asText(value);
      return (
        <Select a={a} testid={testid} value={shown} blank="No default" choices={[{ value: 'true', label: 'Yes' }, { value: 'false', label: 'No' }]} onChange={(v) => set(c.key, typedDefault(type, v, had))} />
      );
    }
    const numeric = type === 'integer' || type === 'number';
    return <input {...a} class="input" inputMode={numeric ? 'decimal' : undefined} data-testid={testid} value={asText(value)} onInput={(e) => set(c.key, typedDefault(type, inputValue(e), had))} />;
  }
  const choices = fieldChoices(props.section, c.key);
  if (choices.length > 0) {
    return <Select a={a} testid={testid} value={asText(value)} blank={asText(value) === '' ? 'Choose…' : undefined} choices={choices} onChange={(v) => set(c.key, v)} />;
  }
  return <input {...a} class="input" data-testid={testid} value={asText(value)} onInput={(e) => set(c.key, inputValue(e))} />;
}

/** A select over `choices`; a value it does not list is kept and shown as such. */
function Select(props: { a: Aria; testid: string; value: string; blank?: string | undefined; choices: Choice[]; onChange: (v: string) => void }) {
  const unknown = props.value !== '' && !props.choices.some((c) => c.value === props.value);
  return (
    <select {...props.a} class="select" data-testid={props.testid} value={props.value} onChange={(e) => props.onChange(inputValue(e))}>
      {props.blank !== undefined && <option value="">{props.blank}</option>}
      {unknown && <option value={props.value}>{props.value} (not a known value)</option>}
      {props.choices.map((c) => (
        <option key={c.value} value={c.value}>
          {c.label}
        </option>
      ))}
    </select>
  );
}
