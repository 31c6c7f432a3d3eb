import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startCli } from '../support/cli-process.ts';
import { reapOnExit } from '../support/reap-on-exit.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** A firewall that logs one line ("listening") and then waits: a quick source of log output. */
const FIREWALL = [
  'sim',
  'firewall',
  '--listen',
  '127.0.0.1:0',
  '--target',
  '127.0.0.1:9',
  '--idle-timeout',
  '5s',
];

/** Runs the CLI with stdout on a pseudo-terminal (util-linux `script`) until `until` shows up. */
function onTerminal(args: string[], until: RegExp): Promise<string> {
  const command = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TERM: 'xterm' },
  });
  reapOnExit(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.on('error', reject);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (until.test(out)) {
        child.kill('SIGTERM');
        resolve(out);
      }
    });
    child.on('exit', () => resolve(out));
  });
}

describe('the terminal', () => {
  it('--version names the version, the commit and the Node it runs on', () => {
    const run = spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8' });
    const commit = spawnSync('git', ['describe', '--always', '--dirty', '--abbrev=12'], {
      cwd: REPO,
      encoding: 'utf8',
    }).stdout.trim();
    const { version } = JSON.parse(readFileSync(`${REPO}package.json`, 'utf8')) as { version: string };
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(
      `mfp-gateway ${version} (commit ${commit}) Node ${process.version} ${process.platform}-${process.arch}\n`,
    );
  });

  it('logs readable lines with clock times when stdout is a terminal', { timeout: 20_000 }, async () => {
    const out = await onTerminal(FIREWALL, /listening/);
    // "[20:13:38.519] INFO: firewall listening": no JSON, no epoch milliseconds.
    expect(out).toMatch(/\[\d\d:\d\d:\d\d\.\d{3}\] .*INFO.*listening/);
    expect(out).not.toMatch(/"level":|"time":\d/);
  });

  it('logs JSON lines (for journald) when stdout is not a terminal', { timeout: 20_000 }, async () => {
    const cli = startCli(FIREWALL);
    const line = await cli.waitFor((l) => /listening/.test(String(l.msg)), 15_000, 'the firewall to listen');
    await cli.stop();
    expect(line).toMatchObject({ level: 30 });
    expect(typeof line.time).toBe('number');
  });
});

describe('--help', () => {
  it('shows duration defaults as people write them, not in milliseconds', () => {
    const run = spawnSync(process.execPath, [CLI, 'demo', '--help'], { encoding: 'utf8' });
    const help = run.stdout.replace(/\s+/g, ' ');
    expect(help).toContain('idle timeout of the simulated firewall (default: 20s)');
    expect(help).toContain('how often the cloud pushes to the gateway (default: 15s)');
    expect(help).toContain('(default: run until Ctrl-C)');
    expect(help).not.toMatch(/default: \d{4,}/);
  });

  it('no command shows a default in milliseconds', () => {
    const commands = [
      [],
      ['run'],
      ['cloud'],
      ['demo'],
      ['doctor'],
      ['status'],
      ['decrypt'],
      ['hash-password'],
    ];
    for (const command of [...commands, ['sim', 'firewall'], ['sim', 'mfp']]) {
      const run = spawnSync(process.execPath, [CLI, ...command, '--help'], { encoding: 'utf8' });
      expect(run.status, command.join(' ')).toBe(0);
      expect(run.stdout.replace(/\s+/g, ' '), command.join(' ')).not.toMatch(/default: "?\d{4,}|\d ?ms\b/);
    }
  });
});
