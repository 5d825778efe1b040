// What the Documents, viewer and Ask screens compute: audience labels and
// edits, a page's text split around the passage to highlight (by
// characters, as the Rust side counts them, not UTF-16 units), an answer
// split into text and its [n] citations, and the library's paging label.

import type { DocHitDto } from '../bindings';
import { routeHref } from './route';

export function audienceLabel(a: string): string {
  if (a === 'everyone') return 'Everyone';
  const [kind, ...rest] = a.split(':');
  const name = rest.join(':');
  if (kind === 'role') return `Role: ${name}`;
  if (kind === 'team') return `Team: ${name}`;
  return a;
}

/** The audience with `term` added or taken away; "everyone" stands alone. */
export function toggleAudience(list: readonly string[], term: string): string[] {
  const t = term.trim();
  if (t === '') return [...list];
  if (list.includes(t)) return list.filter((a) => a !== t);
  if (t === 'everyone') return ['everyone'];
  return [...list.filter((a) => a !== 'everyone'), t];
}

/** A team name typed by a person, as an audience term (empty: none). */
export function teamTerm(name: string): string {
  const n = name.trim();
  return n === '' ? '' : `team:${n}`;
}

/** `text` as [before, passage, after], `start`/`end` in characters. */
export function splitSpan(text: string, start: number | undefined, end: number | undefined): [string, string, string] {
  if (start === undefined || end === undefined || end <= start) return [text, '', ''];
  const chars = Array.from(text);
  const s = Math.max(0, Math.min(start, chars.length));
  const e = Math.max(s, Math.min(end, chars.length));
  return [chars.slice(0, s).join(''), chars.slice(s, e).join(''), chars.slice(e).join('')];
}

export type AnswerPart = { text: string } | { cite: number };

/** An answer's text with each [n] that names one of `sources` sources as a citation. */
export function answerParts(answer: string, sources: number): AnswerPart[] {
  const out: AnswerPart[] = [];
  const re = /\[(\d{1,3})\]/g;
  let last = 0;
  for (let m = re.exec(answer); m !== null; m = re.exec(answer)) {
    const n = Number.parseInt(m[1] ?? '', 10);
    if (n < 1 || n > sources) continue;
    if (m.index > last) out.push({ text: answer.slice(last, m.index) });
    out.push({ cite: n });
    last = m.index + m[0].length;
  }
  if (last < answer.length) out.push({ text: answer.slice(last) });
  return out;
}

/** Where a passage opens: its document's viewer at its page, the passage marked. */
export function hitHref(h: DocHitDto): string {
  return routeHref({
    name: 'doc-view',
    id: h.document_id,
    version: h.version,
    page: h.page ?? 1,
    start: h.start,
    end: h.end,
  });
}

/** "1–50 of 10,000" (or "none"). */
export function pageLabel(offset: number, shown: number, total: number): string {
  if (total === 0 || shown === 0) return 'none';
  const f = (n: number) => n.toLocaleString('en-GB');
  return `${f(offset + 1)}–${f(offset + shown)} of ${f(total)}`;
}

export const STATUS_TONE: Record<string, 'ok' | 'warn' | 'danger' | 'plain'> = {
  published: 'ok',
  draft: 'warn',
  retired: 'plain',
  indexed: 'ok',
  needs_ocr: 'warn',
  failed: 'danger',
  unchanged: 'plain',
  skipped: 'plain',
};

export function stateLabel(s: string): string {
  switch (s) {
    case 'needs_ocr':
      return 'Needs OCR';
    case 'indexed':
      return 'Indexed';
    case 'failed':
      return 'Failed';
    case 'unchanged':
      return 'Unchanged';
    case 'skipped':
      return 'Skipped';
    default:
      return s.charAt(0).toUpperCase() + s.slice(1);
  }
}
