/// <reference types="vite/client" />
import { describe, expect, it } from 'vitest';
import type { Tree } from '@lezer/common';
import { parser } from './rhai.grammar';

// Every template's scripts and tests, read at build time.
const FILES = import.meta.glob('../../../scripts-templates/**/*.rhai', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

function scripts(): [string, string][] {
  return Object.entries(FILES);
}

function errors(tree: Tree, text: string): string[] {
  const found: string[] = [];
  tree.iterate({
    enter: (n) => {
      if (n.type.isError) {
        const line = text.slice(0, n.from).split('\n').length;
        found.push(`line ${line}: ${JSON.stringify(text.slice(Math.max(0, n.from - 20), n.to + 20))}`);
      }
    },
  });
  return found;
}

function names(tree: Tree): string[] {
  const out: string[] = [];
  tree.iterate({ enter: (n) => void out.push(n.name) });
  return out;
}

describe('the Rhai grammar', () => {
  it('parses every template and its tests without an error node', () => {
    const all = scripts();
    expect(all.length).toBeGreaterThan(10);
    for (const [name, text] of all) {
      expect(errors(parser.parse(text), text), name).toEqual([]);
    }
  });

  it('knows the parts of a script', () => {
    const text = 'fn go(id) {\n  let c = contacts::get(id);\n  if c.stage == "client" { tasks::create(#{ title: `Call ${c.first_name}` }) }\n  [1, 2].map(|x| x * 2)\n}\n';
    const n = names(parser.parse(text));
    for (const want of ['FunctionDeclaration', 'LetDeclaration', 'ScopedName', 'Namespace', 'IfExpression', 'MapExpression', 'TemplateString', 'ClosureExpression', 'MemberExpression', 'CallExpression']) {
      expect(n, want).toContain(want);
    }
    expect(errors(parser.parse(text), text)).toEqual([]);
  });

  it('marks malformed input with error nodes and still gives a tree', () => {
    for (const bad of ['fn (', 'let = 3;', 'if { } else', '#{ a: }', 'x = = 2', '"unterminated', '}}}', 'fn f() { let x = [1, 2; }']) {
      const tree = parser.parse(bad);
      expect(tree.length, bad).toBe(bad.length);
      expect(errors(tree, bad).length, bad).toBeGreaterThan(0);
    }
  });

  it('lets statements end at a line break or a closing brace, and expressions go on over lines', () => {
    const text = 'let a = 1\nlet b = a\n    + 2\nfn f() { a }\n';
    expect(errors(parser.parse(text), text)).toEqual([]);
  });
});
