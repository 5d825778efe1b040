// The Studio wizard's model as the window edits it: the shape of
// `wizard.json` (crates/studio/src/wizard/model.rs). The backend checks it
// (`studio_preview`) and names any field at fault; these helpers only make
// new rows with sensible defaults and keep values fitting their operator.

import type { JsonValue, StudioCatalogDto, StudioFieldDto } from '../bindings';

export type Trigger = {
  kind: string;
  stage?: string;
  days?: number;
  every?: string;
  at?: string;
  on?: string;
  label?: string;
};

export type Condition = { field: string; op: string; value?: JsonValue };

export type Action =
  | { kind: 'create_task'; title: string; due_in_days: number; for_owner: boolean }
  | { kind: 'add_tag'; tag: string }
  | { kind: 'remove_tag'; tag: string }
  | { kind: 'move_stage'; stage: string }
  | { kind: 'set_field'; field: string; value: string }
  | { kind: 'log_note'; text: string }
  | { kind: 'notify'; message: string; level: string }
  | { kind: 'ai_choose'; field: string; labels: string[]; question: string }
  | { kind: 'post_json'; url: string };

export type Automation = {
  version: 1;
  name: string;
  trigger: Trigger;
  match: 'all' | 'any';
  conditions: Condition[];
  actions: Action[];
};

/** A trigger of `kind` with its parameters' defaults. */
export function newTrigger(kind: string, params: readonly string[]): Trigger {
  const t: Trigger = { kind };
  for (const p of params) {
    if (p === 'stage') t.stage = 'client';
    if (p === 'days') t.days = kind === 'instalment_overdue' ? 7 : 30;
    if (p === 'every') t.every = 'day';
    if (p === 'at') t.at = '08:00';
    if (p === 'on') t.on = 'contact';
    if (p === 'label') t.label = 'Run';
  }
  return t;
}

/** A new automation for a trigger; its name says what starts it until someone renames it. */
export function newAutomation(kind: string, label: string, params: readonly string[]): Automation {
  return { version: 1, name: label, trigger: newTrigger(kind, params), match: 'all', conditions: [], actions: [] };
}

/** An action of `kind` with defaults (text left for the person to type). */
export function newAction(kind: string): Action {
  switch (kind) {
    case 'create_task':
      return { kind, title: '', due_in_days: 1, for_owner: true };
    case 'add_tag':
    case 'remove_tag':
      return { kind, tag: '' };
    case 'move_stage':
      return { kind, stage: 'client' };
    case 'set_field':
      return { kind, field: 'source', value: '' };
    case 'log_note':
      return { kind, text: '' };
    case 'notify':
      return { kind, message: '', level: 'info' };
    case 'ai_choose':
      return { kind, field: 'custom.label', labels: ['hot', 'warm', 'cold'], question: '' };
    default:
      return { kind: 'post_json', url: 'https://' };
  }
}

/** The value an operator starts with. */
function defaultValue(op: string): JsonValue | undefined {
  switch (op) {
    case 'is_empty':
    case 'is_not_empty':
      return undefined;
    case 'is_one_of':
      return [];
    case 'between':
      return [0, 0];
    case 'within_next_days':
    case 'within_last_days':
      return 30;
    case 'eq':
    case 'lt':
    case 'gt':
      return 0;
    default:
      return '';
  }
}

/** The operators a field offers (its kind's; custom fields also compare as numbers). */
export function opsFor(catalog: StudioCatalogDto, field: StudioFieldDto | undefined): { op: string; words: string }[] {
  if (!field) return [];
  const own = catalog.ops.find((k) => k.kind === field.kind)?.ops ?? [];
  if (!field.name.includes('custom.')) return own;
  const numeric = (catalog.ops.find((k) => k.kind === 'number')?.ops ?? []).filter((o) => ['eq', 'lt', 'gt', 'between'].includes(o.op));
  return [...own, ...numeric];
}

/** A new condition on `field`: its first operator and that operator's default value. */
export function newCondition(catalog: StudioCatalogDto, field: StudioFieldDto): Condition {
  const op = opsFor(catalog, field)[0]?.op ?? 'is';
  const c: Condition = { field: field.name, op };
  const v = defaultValue(op);
  if (v !== undefined) c.value = v;
  return c;
}

/** The condition with another operator: the value kept when it still fits, else the new operator's default. */
export function withOp(c: Condition, op: string): Condition {
  const before = defaultValue(c.op);
  const after = defaultValue(op);
  const sameShape = JSON.stringify(before === undefined ? null : typeof before) === JSON.stringify(after === undefined ? null : typeof after) && Array.isArray(before) === Array.isArray(after);
  const next: Condition = { field: c.field, op };
  if (after !== undefined) next.value = sameShape && c.value !== undefined ? c.value : after;
  return next;
}

/** The fields a trigger's record offers. */
export function fieldsFor(catalog: StudioCatalogDto, triggerKind: string, on?: string): StudioFieldDto[] {
  const t = catalog.triggers.find((x) => x.kind === triggerKind);
  const subject = triggerKind === 'button' && on === 'policy' ? 'policy' : (t?.subject ?? 'contact');
  return catalog.subjects.find((s) => s.subject === subject)?.fields ?? [];
}

/** The model as the backend reads it. */
export function serialise(m: Automation): string {
  return JSON.stringify(m);
}

/** A checkbox list's value after ticking or unticking `item`. */
export function toggled(value: JsonValue | undefined, item: string, on: boolean): string[] {
  const list = Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  const without = list.filter((v) => v !== item);
  return on ? [...without, item] : without;
}
