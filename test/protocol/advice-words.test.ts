import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AdviceBasis, AdviceSource } from '../../src/cloud/learning/advice.ts';
import { adviceInWords } from '../../src/protocol/advice-words.ts';
import type { Advice } from '../../src/protocol/messages.ts';

const DOC = readFileSync(new URL('../../docs/keepalive-learning.md', import.meta.url), 'utf8');

/** The rows of the doc's "Where the advice comes from" table: basis, source, words. */
function docRows(): { basis: string; source: string; words: string }[] {
  const section = DOC.split('## Where the advice comes from')[1]?.split('\n## ')[0] ?? '';
  return section
    .split('\n')
    .filter((l) => /^\| `/.test(l))
    .map((l) => {
      const [basis = '', source = '', words = ''] = l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim().replaceAll('`', ''));
      return { basis, source, words };
    })
    .filter((r) => r.basis !== 'basis');
}

function advice(basis: AdviceBasis, source: AdviceSource): Advice {
  return {
    intervalMs: 20_000,
    source,
    basis,
    mcvtMs: null,
    lowerBoundMs: null,
    upperBoundMs: null,
    lifetimeCapMs: null,
    reconnectBeforeAgeMs: null,
    converged: false,
  } as Advice;
}

describe('where the advice comes from, in words (issue 15 item 2)', () => {
  it('says on the API and the page exactly what docs/keepalive-learning.md says, for every source', () => {
    const rows = docRows();
    expect(rows.map((r) => `${r.basis}/${r.source}`).sort()).toEqual(
      [
        'default/default',
        'longest-good-gap/history',
        'longest-good-gap/probe',
        'longest-good-gap/domain',
        'half-failing-gap/history',
      ].sort(),
    );
    for (const row of rows)
      expect(adviceInWords(advice(row.basis as AdviceBasis, row.source as AdviceSource)).comesFrom).toBe(
        row.words,
      );
  });

  it('names L or U with the words when they are known', () => {
    const learned = { ...advice('longest-good-gap', 'probe'), lowerBoundMs: 22_000 };
    expect(adviceInWords(learned).comesFrom).toMatch(/\(L = 22 ?s\)$/);
  });
});
