// Rhai as a CodeMirror language: the Lezer grammar (rhai.grammar) with
// highlighting, indentation, folding, bracket matching and comment toggling.

import { LRLanguage, LanguageSupport, delimitedIndent, foldInside, foldNodeProp, indentNodeProp } from '@codemirror/language';
import { styleTags, tags as t } from '@lezer/highlight';
import { parser } from './rhai.grammar';

export const rhaiLanguage = LRLanguage.define({
  name: 'rhai',
  parser: parser.configure({
    props: [
      styleTags({
        'fn private let const if else while loop for in do until return throw break continue try catch import as switch':
          t.keyword,
        this: t.self,
        BooleanLiteral: t.bool,
        Unit: t.null,
        Number: t.number,
        String: t.string,
        TemplateString: t.special(t.string),
        Char: t.character,
        LineComment: t.lineComment,
        BlockComment: t.blockComment,
        'FunctionDeclaration/VariableDefinition': t.function(t.definition(t.variableName)),
        VariableDefinition: t.definition(t.variableName),
        VariableName: t.variableName,
        Namespace: t.namespace,
        'ScopedName/VariableName': t.function(t.variableName),
        PropertyName: t.propertyName,
        'CallExpression/MemberExpression/PropertyName': t.function(t.propertyName),
        ArithOp: t.arithmeticOperator,
        LogicOp: t.logicOperator,
        BitOp: t.bitwiseOperator,
        CompareOp: t.compareOperator,
        RangeOp: t.operator,
        AssignOp: t.definitionOperator,
        '=': t.definitionOperator,
        '( )': t.paren,
        '[ ]': t.squareBracket,
        '{ } #{': t.brace,
        '::': t.punctuation,
        '. ?.': t.derefOperator,
        ', ;': t.separator,
      }),
      indentNodeProp.add({
        Block: delimitedIndent({ closing: '}' }),
        MapExpression: delimitedIndent({ closing: '}' }),
        ArrayExpression: delimitedIndent({ closing: ']' }),
        ArgList: delimitedIndent({ closing: ')' }),
        SwitchExpression: delimitedIndent({ closing: '}' }),
      }),
      foldNodeProp.add({
        'Block MapExpression ArrayExpression ArgList': foldInside,
        BlockComment: (node) => ({ from: node.from + 2, to: node.to - 2 }),
      }),
    ],
  }),
  languageData: {
    commentTokens: { line: '//', block: { open: '/*', close: '*/' } },
    closeBrackets: { brackets: ['(', '[', '{', '"', '`'] },
    indentOnInput: /^\s*[}\])]$/,
  },
});

/** Rhai support for an editor. */
export function rhai(): LanguageSupport {
  return new LanguageSupport(rhaiLanguage);
}
