// Where Rhai lets a statement end without a semicolon, as people write it:
// before `}`, at the end, or before a line break when nothing on the next
// line could continue the statement (the tokenizer is a fallback, so it is
// only asked when no ordinary token fits).

import { ExternalTokenizer } from '@lezer/lr';
import { insertSemi } from './rhai.grammar.terms';

const BRACE_R = 125;
const NEWLINE = 10;
const CARRIAGE = 13;
const SPACE = 32;
const TAB = 9;

export const insertSemicolon = new ExternalTokenizer(
  (input, stack) => {
    const next = input.next;
    if (next === BRACE_R || next === -1 || newlineBefore(input)) {
      if (stack.canShift(insertSemi)) input.acceptToken(insertSemi);
    }
  },
  { contextual: true, fallback: true },
);

function newlineBefore(input: { peek(offset: number): number }): boolean {
  for (let i = -1; ; i--) {
    const c = input.peek(i);
    if (c === NEWLINE || c === CARRIAGE) return true;
    if (c !== SPACE && c !== TAB) return false;
  }
}
