import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, describeIssue } from '../../src/config/config-error.ts';
import { loadGatewayConfig, parseGatewayConfig } from '../../src/config/gateway-config.ts';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const token = 'a'.repeat(32);
const minimal = { gateway: { id: 'office-1' }, cloud: { url: 'wss://cloud.example.com/push', token } };

/** The lines a person reads for a config that does not validate. */
function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map(describeIssue);
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const parse = (raw: unknown) => () => parseGatewayConfig(raw, { env: {} });

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'cfg-msg-')), 'gateway.yaml');
  writeFileSync(file, text);
  return file;
}

describe('config error messages', () => {
  it('a missing section says what to add, not zod’s "expected object, received undefined"', () => {
    expect(problems(parse({ gateway: { id: 'office-1' } }))).toEqual([
      'cloud: required section missing; add "cloud:" with url and token',
    ]);
    expect(problems(parse({}))).toEqual([
      'gateway: required section missing; add "gateway:" with id',
      'cloud: required section missing; add "cloud:" with url and token',
    ]);
    expect(problems(parse({ ...minimal, gateway: {} }))).toEqual([
      'gateway.id: required setting missing; add it: an identifier of letters, digits, "-", "_" or "."',
    ]);
  });

  it('says what a key needs in plain words, never zod’s "Invalid input"', () => {
    const lines = problems(
      parse({
        ...minimal,
        cloud: { ...minimal.cloud, connections: 'many' },
        tunnels: { maxConcurrent: 2.5 },
        status: { enabled: 'yes', auth: 'open' },
        devices: 'none',
      }),
    );
    expect(lines).toEqual(
      expect.arrayContaining([
        'cloud.connections: got "many"; expected a number, not text',
        'tunnels.maxConcurrent: got 2.5; expected a whole number',
        'status.enabled: got "yes"; expected true or false, not text',
        'status.auth: got "open"; expected one of "password", "none"',
        'devices: got "none"; expected a list (lines starting with "- "), not text',
      ]),
    );
    expect(lines.join('\n')).not.toMatch(/Invalid input|received|Too (small|big)/);
  });

  it('a typo gets "did you mean", in the section, deeper in it, or in another section', () => {
    expect(problems(parse({ ...minimal, cloud: { ...minimal.cloud, tokn: 'x' } }))).toEqual([
      'cloud.tokn: unknown setting; did you mean cloud.token?',
    ]);
    expect(problems(parse({ ...minimal, cloud: { ...minimal.cloud, Connections: 3 } }))).toEqual([
      'cloud.Connections: unknown setting; did you mean cloud.connections?',
    ]);
    expect(
      problems(parse({ ...minimal, devices: [{ id: 'm', driver: 'pjl', host: 'h', comunity: 'x' }] })),
    ).toEqual(['devices.0.comunity: unknown setting; did you mean devices.0.snmp.community?']);
    expect(problems(parse({ ...minimal, status: { listen: { prot: 8080 } } }))).toEqual([
      'status.listen.prot: unknown setting; did you mean status.listen.port?',
    ]);
    expect(problems(parse({ ...minimal, stateDir: '/var/lib/x' }))).toEqual([
      'stateDir: unknown setting; did you mean gateway.stateDir?',
    ]);
    const [far] = problems(parse({ ...minimal, zzz: 1 }));
    expect(far).toMatch(
      /^zzz: unknown setting \(check the spelling; the file has sections: gateway, cloud, /,
    );
  });

  it('a YAML error says file:line:col and what is wrong in plain words', () => {
    const cases: [string, string][] = [
      ['gateway:\n\tid: a\n', ':2:1: a tab indents this line; YAML indents with spaces only'],
      ['gateway:\n  id: a\n cloud: x\n', ':3:1: this line is not indented like the lines of its section'],
      ['cloud:\n  url: "wss://x\n', ':3:1: a quoted value is not closed (its closing quote is missing)'],
      ['gateway:\n  id: [a\ncloud: 1\n', ':3:1: a "[" or "{" opened above is not closed'],
      ['gateway:\n  id: a\n  id: b\n', ':3:3: this setting appears twice in the same section; keep one'],
      ['cloud:\n  token abc\n  url: x\n', ':2:3: a setting name must end with ":" on its own line'],
    ];
    for (const [text, said] of cases) {
      const file = yamlFile(text);
      const [line] = problems(() => loadGatewayConfig(file));
      expect(line, text).toContain(`${file}${said}`);
      expect(line).not.toMatch(/ at line \d+, column \d+/);
    }
  });

  it('a YAML alias to nothing is a config error, not a crash', () => {
    const file = yamlFile('gateway:\n  id: *nowhere\n');
    expect(problems(() => loadGatewayConfig(file))).toEqual([
      `${file}: the alias *nowhere names no anchor &nowhere above it`,
    ]);
  });

  it('run exits with status 78 and prints the plain message for a YAML error', () => {
    const file = yamlFile('gateway:\n\tid: a\n');
    const run = spawnSync(process.execPath, [CLI, 'run', '--config', file, '--setup-page', 'off'], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(78);
    expect(run.stderr).toBe(
      `invalid config ${file}:\n  - ${file}:2:1: a tab indents this line; YAML indents with spaces only\n`,
    );
  });
});
