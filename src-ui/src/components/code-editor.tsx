// A CodeMirror 6 editor for a plugin's files: Rhai (our Lezer grammar) or
// JSON. For Rhai: completion and hover from the host API's metadata (never
// a hand-kept list), and diagnostics from the sandbox's own engine, asked
// for as someone types, each with its one-click fix where there is one.

import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap, type Completion, type CompletionContext, type CompletionResult } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, indentWithTab, toggleComment } from '@codemirror/commands';
import { bracketMatching, defaultHighlightStyle, foldGutter, foldKeymap, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { linter, lintGutter, type Diagnostic } from '@codemirror/lint';
import { EditorState, StateEffect, StateField, type Extension } from '@codemirror/state';
import { Decoration, EditorView, highlightActiveLine, hoverTooltip, keymap, lineNumbers, type DecorationSet } from '@codemirror/view';
import { useEffect, useRef } from 'preact/hooks';
import type { EditorDiagnosticDto, EditorFixDto, EditorReferenceDto } from '../bindings';
import { rhai } from '../lang/rhai';

const KEYWORDS = ['fn', 'let', 'const', 'if', 'else', 'while', 'loop', 'for', 'in', 'do', 'until', 'return', 'throw', 'break', 'continue', 'try', 'catch', 'switch', 'this', 'true', 'false', 'private'];

/** Completion from the engine's metadata: `module::` lists its functions with their docs. */
function rhaiCompletions(reference: EditorReferenceDto) {
  const modules = [...new Set(reference.functions.map((f) => f.module))].sort();
  const fields = [...new Set(reference.records.flatMap((r) => r.fields))].sort();
  return (ctx: CompletionContext): CompletionResult | null => {
    const scoped = ctx.matchBefore(/[A-Za-z_][A-Za-z0-9_]*::[A-Za-z0-9_]*/);
    if (scoped) {
      const [module] = scoped.text.split('::');
      const options: Completion[] = reference.functions
        .filter((f) => f.module === module)
        .map((f) => ({
          label: f.name,
          type: 'function',
          detail: `(${f.params.join(', ')})${f.returns ? ` → ${f.returns}` : ''}`,
          info: f.doc + (f.permission ? `\nNeeds ${f.permission}.` : ''),
        }));
      return { from: scoped.from + (module?.length ?? 0) + 2, options, validFor: /^[A-Za-z0-9_]*$/ };
    }
    const member = ctx.matchBefore(/\.[A-Za-z0-9_]*/);
    if (member) {
      return { from: member.from + 1, options: fields.map((f) => ({ label: f, type: 'property' })), validFor: /^[A-Za-z0-9_]*$/ };
    }
    const word = ctx.matchBefore(/[A-Za-z_][A-Za-z0-9_]*/);
    if (!word && !ctx.explicit) return null;
    const options: Completion[] = [
      ...modules.map((m) => ({ label: m, type: 'namespace', apply: `${m}::`, detail: 'host module' })),
      ...KEYWORDS.map((k) => ({ label: k, type: 'keyword' })),
    ];
    return { from: word ? word.from : ctx.pos, options, validFor: /^[A-Za-z0-9_]*$/ };
  };
}

/** The documentation of `module::function` under the pointer. */
function rhaiHover(reference: EditorReferenceDto) {
  return hoverTooltip((view, pos) => {
    const line = view.state.doc.lineAt(pos);
    const re = /([A-Za-z_][A-Za-z0-9_]*)::([A-Za-z_][A-Za-z0-9_]*)/g;
    for (const m of line.text.matchAll(re)) {
      const from = line.from + (m.index ?? 0);
      const to = from + m[0].length;
      if (pos < from || pos > to) continue;
      const fns = reference.functions.filter((f) => f.module === m[1] && f.name === m[2]);
      if (fns.length === 0) return null;
      return {
        pos: from,
        end: to,
        above: true,
        create: () => {
          const dom = document.createElement('div');
          dom.className = 'cm-hover-doc';
          for (const f of fns) {
            const sig = document.createElement('code');
            sig.textContent = `${f.module}::${f.name}(${f.params.join(', ')})${f.returns ? ` → ${f.returns}` : ''}`;
            const doc = document.createElement('p');
            doc.textContent = f.doc;
            dom.append(sig, doc);
          }
          return { dom };
        },
      };
    }
    return null;
  });
}

/** The script's diagnostics as CodeMirror's, with fixes as actions. */
export function toCodeMirror(view: EditorView, found: EditorDiagnosticDto[], onFix: (fix: EditorFixDto) => void): Diagnostic[] {
  const doc = view.state.doc;
  return found
    .filter((d) => d.file === 'script' && d.line !== null)
    .map((d) => {
      const line = doc.line(Math.min(Math.max(d.line ?? 1, 1), doc.lines));
      const from = Math.min(line.from + Math.max((d.column ?? 1) - 1, 0), line.to);
      const to = Math.min(from + Math.max(d.length, 1), line.to);
      const fix = d.fix;
      return {
        from,
        to: Math.max(to, from),
        severity: d.severity === 'warning' ? 'warning' : 'error',
        message: d.message,
        actions: fix ? [{ name: fix.title, apply: () => onFix(fix) }] : [],
      };
    });
}

/** Check again although the text did not change (the manifest did). */
const relint = StateEffect.define<null>();

/** The line a run's error points at, marked until the next one (or none). */
const markLine = StateEffect.define<number | null>();
const markedLine = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, tr) {
    marks = marks.map(tr.changes);
    for (const e of tr.effects) {
      if (!e.is(markLine)) continue;
      if (e.value === null || e.value < 1 || e.value > tr.state.doc.lines) return Decoration.none;
      const line = tr.state.doc.line(e.value);
      return Decoration.set([Decoration.line({ class: 'cm-run-error-line', attributes: { 'data-testid': 'run-error-line' } }).range(line.from)]);
    }
    return marks;
  },
  provide: (f) => EditorView.decorations.from(f),
});

export function CodeEditor(props: {
  doc: string;
  language: 'rhai' | 'json';
  reference?: EditorReferenceDto | null;
  /** Diagnostics for this text (asked for as someone types). */
  check?: (text: string) => Promise<EditorDiagnosticDto[]>;
  onFix?: (fix: EditorFixDto) => void;
  onChange: (doc: string) => void;
  /** Checks again when this changes (the other file of the plugin changed). */
  lintKey?: string;
  /** A line to mark as where a run failed (1-based), scrolled into view. */
  errorLine?: number | null;
  testid: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const latest = useRef(props);
  latest.current = props;

  useEffect(() => {
    if (!host.current) return;
    const extensions: Extension[] = [
      lineNumbers(),
      foldGutter(),
      history(),
      bracketMatching(),
      closeBrackets(),
      indentOnInput(),
      highlightActiveLine(),
      syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
      keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...foldKeymap, ...completionKeymap, indentWithTab, { key: 'Mod-/', run: toggleComment }]),
      EditorView.updateListener.of((u) => {
        if (u.docChanged) latest.current.onChange(u.state.doc.toString());
      }),
      markedLine,
      EditorView.contentAttributes.of({ 'data-testid': `${props.testid}-text`, 'aria-label': props.testid }),
    ];
    if (props.language === 'rhai') {
      extensions.push(rhai());
      if (props.reference) {
        extensions.push(autocompletion({ override: [rhaiCompletions(props.reference)] }), rhaiHover(props.reference));
      }
      extensions.push(
        lintGutter(),
        linter(
          async (v) => {
            const check = latest.current.check;
            if (!check) return [];
            const found = await check(v.state.doc.toString());
            return toCodeMirror(v, found, (fix) => latest.current.onFix?.(fix));
          },
          { delay: 250, needsRefresh: (u) => u.transactions.some((tr) => tr.effects.some((e) => e.is(relint))) },
        ),
      );
    }
    const v = new EditorView({ state: EditorState.create({ doc: props.doc, extensions }), parent: host.current });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // The editor is made once per language and reference; text arrives below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.language, props.reference]);

  // A text changed from outside (a fix applied, a file opened) replaces the editor's.
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== props.doc) {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: props.doc } });
    }
  }, [props.doc]);

  useEffect(() => {
    view.current?.dispatch({ effects: relint.of(null) });
  }, [props.lintKey]);

  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const line = props.errorLine ?? null;
    const effects: StateEffect<unknown>[] = [markLine.of(line)];
    if (line !== null && line >= 1 && line <= v.state.doc.lines) {
      effects.push(EditorView.scrollIntoView(v.state.doc.line(line).from, { y: 'center' }));
    }
    v.dispatch({ effects });
  }, [props.errorLine]);

  return <div class="code-editor" ref={host} data-testid={props.testid} />;
}
