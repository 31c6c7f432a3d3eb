import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The README is a new user's first page: short, true, and every command in it proven.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** Shell commands of the README: lines of its sh blocks and the commands in backticks of its tables. */
function commandsOf(markdown: string): string[] {
  const commands = new Set<string>();
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1]?.split('\n') ?? []) {
      const command = line.replace(/#.*$/, '').trim();
      if (command !== '') commands.add(command);
    }
  }
  for (const row of markdown.matchAll(/^\|.*\|\s*`([^`]+)`\s*\|$/gm)) {
    const command = row[1]?.trim();
    if (command && /^(mfp-gateway|npm|journalctl|http)/.test(command)) commands.add(command);
  }
  for (const inline of markdown.matchAll(/`((?:npm|mfp-gateway) [^`]+)`/g))
    commands.add((inline[1] ?? '').trim());
  return [...commands];
}

/**
 * Where each README command is run: a file of this repository that runs it (a test or CI),
 * and a string that file must contain. Commands of other programs the user types to move
 * files or read the journal are listed as such.
 */
const PROVEN: Array<
  { command: RegExp; file: string; contains: string } | { command: RegExp; external: string }
> = [
  { command: /^npm ci && npm run demo$/, file: 'test/integration/demo.test.ts', contains: "'demo'" },
  { command: /^npm run demo -- --help$/, file: 'test/cli/terminal.test.ts', contains: "'demo', '--help'" },
  {
    command: /^sudo bash \.ci\/install-peers\.sh && npm ci && npm test$/,
    file: '.ci/run',
    contains: 'install-peers.sh',
  },
  { command: /^npm run lint$/, file: '.ci/run', contains: 'npm run lint' },
  { command: /^npm run bench$/, file: 'test/docs/readme.test.ts', contains: 'bench/run-all.ts' },
  {
    command: /^npm run bundle -- --arch arm64$/,
    file: 'test/board/arm64.test.ts',
    contains: "arch: 'arm64'",
  },
  { command: /^sha256sum -c /, file: 'test/board/bundle.test.ts', contains: "'sha256sum'" },
  { command: /^tar -xzf /, file: 'test/board/arm64.test.ts', contains: "'-xzf'" },
  { command: /board\/install\.sh$/, file: 'test/board/install.test.ts', contains: 'install.sh' },
  {
    command: /^mfp-gateway doctor --config FILE$/,
    file: 'test/doctor/doctor-cli.test.ts',
    contains: "'doctor'",
  },
  {
    command: /^mfp-gateway status$/,
    file: 'test/gateway/control/status-command.test.ts',
    contains: "'status'",
  },
  { command: /^mfp-gateway <command> --help$/, file: 'test/cli/terminal.test.ts', contains: "'--help'" },
  {
    command: /^npm start --silent -- <command>$/,
    file: 'test/docs/readme.test.ts',
    contains: "'start', '--silent'",
  },
  {
    command: /^mfp-gateway cloud --config cloud\.yaml$/,
    file: 'test/support/chain.ts',
    contains: "'cloud', '--config'",
  },
  { command: /^scp /, external: 'OpenSSH: copies the bundle to the Pi' },
  { command: /^ssh /, external: 'OpenSSH: logs in to the Pi' },
  { command: /^journalctl -u mfp-gateway$/, external: 'systemd: the unit is tested in test/systemd' },
  { command: /^http:\/\//, external: 'an address, not a command' },
];

describe('README', () => {
  it('is short enough to read: at most 8 KB', () => {
    expect(Buffer.byteLength(README)).toBeLessThanOrEqual(8 * 1024);
  });

  it('links only to files that exist', () => {
    const missing = [...README.matchAll(/\]\(([^)#]+)\)/g)]
      .map((m) => m[1] ?? '')
      .filter((target) => !/^https?:/.test(target))
      .filter((target) => !existsSync(join(ROOT, target)));
    expect(missing).toEqual([]);
  });

  it('has every command run by a test or by CI', () => {
    const commands = commandsOf(README);
    expect(commands.length).toBeGreaterThan(5);
    const unproven = commands.filter((command) => {
      const proof = PROVEN.find((p) => p.command.test(command));
      if (proof === undefined) return true;
      if ('external' in proof) return false;
      return !readFileSync(join(ROOT, proof.file), 'utf8').includes(proof.contains);
    });
    expect(unproven).toEqual([]);
  });

  it('runs the benchmarks through the script it names', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.bench).toContain('bench/run-all.ts');
  });

  it('npm start --silent prints only the command output, no npm banner', () => {
    const run = spawnSync('npm', ['start', '--silent', '--', '--version'], { cwd: ROOT, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(run.stdout).toMatch(/^mfp-gateway /);
  });
});
