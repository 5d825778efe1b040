// The wizard's rows: a condition (field, operator, value typed by the
// field's kind, with the values the book already holds offered as choices)
// and an action (its own few inputs).

import { useEffect, useState } from 'preact/hooks';
import * as api from '../api';
import type { JsonValue, StudioCatalogDto, StudioFieldDto, StudioSampleDto } from '../bindings';
import { inputValue } from '../components/ui';
import { opsFor, toggled, withOp, type Action, type Condition } from '../lib/wizard-model';

const OTHER = '\u0000other';

/** Values of a text field people pick from (fetched once per field). */
function useKnownValues(field: StudioFieldDto | undefined): string[] {
  const [values, setValues] = useState<string[]>([]);
  const name = field?.name ?? '';
  const wanted = field !== undefined && (field.kind === 'text' || field.kind === 'list');
  useEffect(() => {
    let live = true;
    if (!wanted) {
      setValues([]);
      return;
    }
    api.studioFieldValues(name).then(
      (v) => live && setValues(v),
      () => live && setValues([]),
    );
    return () => {
      live = false;
    };
  }, [name, wanted]);
  return values;
}

function asText(v: JsonValue | undefined): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

function asNumber(raw: string): JsonValue {
  const n = Number(raw);
  return raw.trim() !== '' && Number.isFinite(n) ? n : raw;
}

export function ConditionRow(props: {
  index: number;
  catalog: StudioCatalogDto;
  fields: StudioFieldDto[];
  condition: Condition;
  error: string | null;
  /** The condition on the sample record, when one is chosen. */
  sample: StudioSampleDto | null;
  onChange: (c: Condition) => void;
  onRemove: () => void;
}) {
  const c = props.condition;
  const i = props.index;
  const field = props.fields.find((f) => f.name === c.field);
  const ops = opsFor(props.catalog, field);
  const known = useKnownValues(field);
  const [typing, setTyping] = useState(false);
  const setValue = (value: JsonValue) => props.onChange({ ...c, value });
  const chooseField = (name: string) => {
    const f = props.fields.find((x) => x.name === name);
    const first = opsFor(props.catalog, f)[0]?.op ?? 'is';
    setTyping(false);
    props.onChange(withOp({ field: name, op: c.op }, first));
  };

  let value = null;
  if (c.op === 'is_empty' || c.op === 'is_not_empty') {
    value = null;
  } else if (field?.kind === 'choice' && c.op === 'is_one_of') {
    value = (
      <div class="row wrap" role="group" aria-label="Choices">
        {field.choices.map((ch) => (
          <label class="check" key={ch}>
            <input
              type="checkbox"
              data-testid={`cond-choice-${i}-${ch}`}
              checked={Array.isArray(c.value) && c.value.includes(ch)}
              onChange={(e) => setValue(toggled(c.value, ch, (e.currentTarget as HTMLInputElement).checked))}
            />
            <span>{ch}</span>
          </label>
        ))}
      </div>
    );
  } else if (field?.kind === 'choice') {
    value = (
      <select class="input" data-testid={`cond-value-${i}`} value={asText(c.value)} onChange={(e) => setValue(inputValue(e))}>
        <option value="">Choose…</option>
        {field.choices.map((ch) => (
          <option key={ch} value={ch}>
            {ch}
          </option>
        ))}
      </select>
    );
  } else if (c.op === 'between') {
    const pair = Array.isArray(c.value) ? c.value : [0, 0];
    value = (
      <div class="row">
        <input class="input input-short" type="number" data-testid={`cond-value-${i}-from`} value={asText(pair[0])} onInput={(e) => setValue([asNumber(inputValue(e)), pair[1] ?? 0])} />
        <span>and</span>
        <input class="input input-short" type="number" data-testid={`cond-value-${i}-to`} value={asText(pair[1])} onInput={(e) => setValue([pair[0] ?? 0, asNumber(inputValue(e))])} />
      </div>
    );
  } else if (['eq', 'lt', 'gt', 'within_next_days', 'within_last_days'].includes(c.op)) {
    value = <input class="input input-short" type="number" data-testid={`cond-value-${i}`} value={asText(c.value)} onInput={(e) => setValue(asNumber(inputValue(e)))} />;
  } else if (field?.kind === 'date') {
    value = <input class="input" type="date" data-testid={`cond-value-${i}`} value={asText(c.value)} onInput={(e) => setValue(inputValue(e))} />;
  } else if (known.length > 0 && !typing) {
    value = (
      <select
        class="input"
        data-testid={`cond-value-${i}`}
        value={known.includes(asText(c.value)) ? asText(c.value) : ''}
        onChange={(e) => {
          const v = inputValue(e);
          if (v === OTHER) setTyping(true);
          else setValue(v);
        }}
      >
        <option value="">Choose…</option>
        {known.map((v) => (
          <option key={v} value={v}>
            {v}
          </option>
        ))}
        <option value={OTHER}>Something else…</option>
      </select>
    );
  } else {
    value = <input class="input" data-testid={`cond-value-${i}`} value={asText(c.value)} onInput={(e) => setValue(inputValue(e))} />;
  }

  return (
    <div class="wizard-row" data-testid={`condition-${i}`}>
      <select class="input" aria-label="Field" data-testid={`cond-field-${i}`} value={c.field} onChange={(e) => chooseField(inputValue(e))}>
        {props.fields.map((f) => (
          <option key={f.name} value={f.name}>
            {f.label}
          </option>
        ))}
      </select>
      <select class="input" aria-label="Comparison" data-testid={`cond-op-${i}`} value={c.op} onChange={(e) => props.onChange(withOp(c, inputValue(e)))}>
        {ops.map((o) => (
          <option key={o.op} value={o.op}>
            {o.words}
          </option>
        ))}
      </select>
      <div class="spacer">{value}</div>
      <button type="button" class="btn btn-sm" aria-label="Remove this condition" onClick={props.onRemove}>
        ✕
      </button>
      {props.sample && (
        <span class={`wizard-row-error small ${props.sample.holds ? 'text-ok' : 'text-danger'}`} data-testid={`cond-sample-${i}`}>
          {props.sample.holds ? '✓ holds' : '✗ does not hold'}: the sample’s value is {props.sample.seen}
        </span>
      )}
      {props.error && (
        <span class="field-error wizard-row-error" data-testid={`cond-error-${i}`}>
          {props.error}
        </span>
      )}
    </div>
  );
}

const DUE: [number, string][] = [
  [0, 'today'],
  [1, 'tomorrow'],
  [2, 'in 2 days'],
  [7, 'in a week'],
  [14, 'in two weeks'],
  [30, 'in a month'],
];

export function ActionRow(props: {
  index: number;
  label: string;
  stages: string[];
  settable: StudioFieldDto[];
  action: Action;
  error: string | null;
  onChange: (a: Action) => void;
  onRemove: () => void;
}) {
  const a = props.action;
  const i = props.index;
  let body = null;
  switch (a.kind) {
    case 'create_task':
      body = (
        <>
          <input class="input spacer" placeholder="Task title, e.g. Call back {first_name}" data-testid={`action-title-${i}`} value={a.title} onInput={(e) => props.onChange({ ...a, title: inputValue(e) })} />
          <select class="input" aria-label="Due" data-testid={`action-due-${i}`} value={String(a.due_in_days)} onChange={(e) => props.onChange({ ...a, due_in_days: Number(inputValue(e)) })}>
            {(DUE.some(([d]) => d === a.due_in_days) ? DUE : [...DUE, [a.due_in_days, `in ${a.due_in_days} days`] as [number, string]]).map(([d, w]) => (
              <option key={d} value={String(d)}>
                due {w}
              </option>
            ))}
          </select>
          <label class="check">
            <input type="checkbox" checked={a.for_owner} onChange={(e) => props.onChange({ ...a, for_owner: (e.currentTarget as HTMLInputElement).checked })} />
            <span>for the contact’s owner</span>
          </label>
        </>
      );
      break;
    case 'add_tag':
    case 'remove_tag':
      body = <input class="input spacer" placeholder="The tag" data-testid={`action-tag-${i}`} value={a.tag} onInput={(e) => props.onChange({ ...a, tag: inputValue(e) })} />;
      break;
    case 'move_stage':
      body = (
        <select class="input" data-testid={`action-stage-${i}`} value={a.stage} onChange={(e) => props.onChange({ ...a, stage: inputValue(e) })}>
          {props.stages.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      );
      break;
    case 'set_field':
      body = (
        <>
          <select class="input" aria-label="Field" data-testid={`action-field-${i}`} value={a.field} onChange={(e) => props.onChange({ ...a, field: inputValue(e) })}>
            {props.settable.map((f) => (
              <option key={f.name} value={f.name}>
                {f.label}
              </option>
            ))}
          </select>
          <span>to</span>
          <input class="input spacer" data-testid={`action-value-${i}`} value={a.value} onInput={(e) => props.onChange({ ...a, value: inputValue(e) })} />
        </>
      );
      break;
    case 'log_note':
      body = <input class="input spacer" placeholder="The note, e.g. Welcome call due for {first_name}" data-testid={`action-text-${i}`} value={a.text} onInput={(e) => props.onChange({ ...a, text: inputValue(e) })} />;
      break;
    case 'notify':
      body = (
        <>
          <input class="input spacer" placeholder="The message" data-testid={`action-message-${i}`} value={a.message} onInput={(e) => props.onChange({ ...a, message: inputValue(e) })} />
          <select class="input" aria-label="Kind" value={a.level} onChange={(e) => props.onChange({ ...a, level: inputValue(e) })}>
            {['info', 'success', 'warning', 'error'].map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </>
      );
      break;
    case 'ai_choose':
      body = (
        <>
          <input class="input spacer" placeholder="Labels, separated by commas" data-testid={`action-labels-${i}`} value={a.labels.join(', ')} onInput={(e) => props.onChange({ ...a, labels: inputValue(e).split(',').map((l) => l.trim()).filter((l) => l !== '') })} />
          <span>into</span>
          <select class="input" aria-label="Field" value={a.field} onChange={(e) => props.onChange({ ...a, field: inputValue(e) })}>
            {[...props.settable, ...(props.settable.some((f) => f.name === a.field) ? [] : [{ name: a.field, label: a.field }])].map((f) => (
              <option key={f.name} value={f.name}>
                {f.label}
              </option>
            ))}
          </select>
        </>
      );
      break;
    case 'post_json':
      body = <input class="input spacer" placeholder="https://…" data-testid={`action-url-${i}`} value={a.url} onInput={(e) => props.onChange({ ...a, url: inputValue(e) })} />;
      break;
  }
  return (
    <div class="wizard-row" data-testid={`action-${i}`}>
      <strong class="wizard-row-label">{props.label}</strong>
      {body}
      <button type="button" class="btn btn-sm" aria-label="Remove this action" onClick={props.onRemove}>
        ✕
      </button>
      {props.error && (
        <span class="field-error wizard-row-error" data-testid={`action-error-${i}`}>
          {props.error}
        </span>
      )}
    </div>
  );
}
