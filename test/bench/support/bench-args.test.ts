import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { leadingDocComment } from '../../../bench/support/bench-args.ts';

const BENCH = fileURLToPath(new URL('../../../bench/', import.meta.url));
const scripts = readdirSync(BENCH).filter((name) => name.endsWith('.ts'));

const run = (script: string, ...args: string[]) =>
  spawnSync(process.execPath, [`${BENCH}${script}`, ...args], { encoding: 'utf8', timeout: 30_000 });

describe('leadingDocComment', () => {
  it('gives the first doc comment without its margins', () => {
    expect(
      leadingDocComment('/**\n * One line.\n *\n *   node x.ts [--a 1]\n */\nconst a = 1;\n/** not this */'),
    ).toBe('One line.\n\n  node x.ts [--a 1]');
  });

  it('gives nothing when the file does not open with one', () => {
    expect(leadingDocComment('const a = 1;\n/** late */')).toBe('');
  });
});

describe('every benchmark script', () => {
  it.each(scripts)('%s answers --help with its doc comment, and does nothing else', (script) => {
    const result = run(script, '--help');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`bench/${script}`);
    expect(result.stdout.split('\n')[2]?.length).toBeGreaterThan(20);
  });

  it.each(scripts)('%s refuses an unknown option in one line, with exit status 2', (script) => {
    const result = run(script, '--no-such-option');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`bench/${script}: Unknown option '--no-such-option'`);
    expect(result.stderr).not.toContain('    at ');
  });
});

describe('a value a benchmark cannot use', () => {
  it.each([
    ['soak.ts', ['--minutes', '2'], '--minutes must be at least 3'],
    ['soak.ts', ['--only', 'everything'], '--only must be one of push, tunnels, jobs'],
    ['tunnel-round-trip.ts', ['--exchanges', '3'], '--exchanges must be a whole number ≥ 10'],
  ])('%s %j is refused in one line, with exit status 2', (script, args, problem) => {
    const result = run(script, ...args);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`bench/${script}: ${problem}`);
    expect(result.stderr).not.toContain('    at ');
  });
});
