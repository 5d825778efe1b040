import { describe, expect, it } from 'vitest';
import type { DocHitDto } from '../bindings';
import { answerParts, audienceLabel, hitHref, pageLabel, splitSpan, teamTerm, toggleAudience } from './documents';

describe('audience', () => {
  it('labels each kind', () => {
    expect(audienceLabel('everyone')).toBe('Everyone');
    expect(audienceLabel('role:agent')).toBe('Role: agent');
    expect(audienceLabel('team:North: Leeds')).toBe('Team: North: Leeds');
  });
  it('toggles, with everyone standing alone', () => {
    expect(toggleAudience(['everyone'], 'team:north')).toEqual(['team:north']);
    expect(toggleAudience(['team:north'], 'role:admin')).toEqual(['team:north', 'role:admin']);
    expect(toggleAudience(['team:north', 'role:admin'], 'team:north')).toEqual(['role:admin']);
    expect(toggleAudience(['team:north'], 'everyone')).toEqual(['everyone']);
    expect(toggleAudience(['team:north'], '  ')).toEqual(['team:north']);
    expect(teamTerm('  south ')).toBe('team:south');
    expect(teamTerm(' ')).toBe('');
  });
});

describe('highlight', () => {
  it('splits by characters, not UTF-16 units', () => {
    // "💷" is two UTF-16 units and one character.
    expect(splitSpan('Pay 💷 fees now', 4, 10)).toEqual(['Pay ', '💷 fees', ' now']);
  });
  it('clamps spans past the end and ignores empty ones', () => {
    expect(splitSpan('abc', 1, 99)).toEqual(['a', 'bc', '']);
    expect(splitSpan('abc', 2, 2)).toEqual(['abc', '', '']);
    expect(splitSpan('abc', undefined, undefined)).toEqual(['abc', '', '']);
  });
});

describe('answers', () => {
  it('turns [n] naming a source into a citation', () => {
    expect(answerParts('Within 2 days [1]. See [2][3].', 2)).toEqual([
      { text: 'Within 2 days ' },
      { cite: 1 },
      { text: '. See ' },
      { cite: 2 },
      { text: '[3].' },
    ]);
    expect(answerParts('[0] and [12]', 5)).toEqual([{ text: '[0] and [12]' }]);
  });
  it('opens a hit at its page with the passage marked', () => {
    const hit = { document_id: 'd 1', version: 2, page: 4, start: 10, end: 30 } as unknown as DocHitDto;
    expect(hitHref(hit)).toBe('#/documents/d%201/view/2/4/10/30');
    expect(hitHref({ ...hit, page: null })).toBe('#/documents/d%201/view/2/1/10/30');
  });
});

describe('paging', () => {
  it('says which documents are shown', () => {
    expect(pageLabel(0, 50, 10000)).toBe('1–50 of 10,000');
    expect(pageLabel(9950, 50, 10000)).toBe('9,951–10,000 of 10,000');
    expect(pageLabel(0, 0, 0)).toBe('none');
  });
});
