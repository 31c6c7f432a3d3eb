import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { scratchDir } from '../support/chain.ts';

const SCRIPT = fileURLToPath(new URL('../../board/crash-log.sh', import.meta.url));

let dir: string;
let cleanup: () => void;
let stateDir: string;
let bin: string;

// journalctl as the script calls it: this stand-in prints its arguments and a few lines.
beforeEach(() => {
  ({ dir, cleanup } = scratchDir('crash-log'));
  stateDir = join(dir, 'state');
  bin = join(dir, 'bin');
  mkdirSync(stateDir);
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'journalctl'),
    '#!/bin/sh\necho "journalctl $*"\nfor i in 1 2 3; do echo "2026-12-06T20:00:0$i+00:00 vm mfp-gateway[42]: line $i"; done\n',
  );
  chmodSync(join(bin, 'journalctl'), 0o755);
});
afterEach(() => cleanup());

/** Runs the script as the unit would, with the environment systemd gives ExecStartPre/ExecStopPost. */
function crashLog(action: string, env: Record<string, string> = {}): void {
  const run = spawnSync('sh', [SCRIPT, action], {
    encoding: 'utf8',
    env: { PATH: `${bin}:/usr/bin:/bin`, STATE_DIRECTORY: stateDir, ...env },
  });
  expect(run.status, run.stderr).toBe(0);
}

const log = () => readFileSync(join(stateDir, 'crash.log'), 'utf8');
const badStop = {
  SERVICE_RESULT: 'watchdog',
  EXIT_CODE: 'killed',
  EXIT_STATUS: 'ABRT',
  INVOCATION_ID: 'abc123',
};

describe('board/crash-log.sh (the unit’s crash log in the state directory)', () => {
  it('records nothing for a clean stop', () => {
    crashLog('start');
    crashLog('stop', { SERVICE_RESULT: 'success', EXIT_CODE: 'exited', EXIT_STATUS: '0' });
    expect(existsSync(join(stateDir, 'crash.log'))).toBe(false);
  });

  it('records how the daemon ended badly and its last journal lines, readable by the service', () => {
    chownSync(stateDir, 4321, 4321);
    crashLog('start');
    crashLog('stop', badStop);
    const text = log();
    expect(text).toMatch(/^=== \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ stopped: watchdog \(killed ABRT\)\n/);
    expect(text).toContain('journalctl --no-pager --quiet -o short-iso -n 30 _SYSTEMD_INVOCATION_ID=abc123');
    expect(text).toContain('mfp-gateway[42]: line 3');
    const st = statSync(join(stateDir, 'crash.log'));
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([4321, 4321, 0o640]);
  });

  it('notices at the next start that the box went down while the daemon ran', () => {
    crashLog('start');
    crashLog('start');
    expect(log()).toMatch(
      /^=== \S+ the previous run \(started \S+\) never stopped: the box lost power or was reset/,
    );
    crashLog('stop', { SERVICE_RESULT: 'success' });
    crashLog('start');
    expect(log().match(/never stopped/g)).toHaveLength(1);
  });

  it('stays small: keeps the newest entries, cut at whole lines', () => {
    for (let i = 0; i < 8; i++)
      crashLog('stop', { ...badStop, EXIT_STATUS: `S${i}`, MFPGW_CRASH_LOG_BYTES: '1000' });
    const text = log();
    expect(text.length).toBeLessThanOrEqual(1000);
    expect(text).toContain('(killed S7)');
    expect(text).not.toContain('(killed S0)');
    expect(text.split('\n')[0]).toMatch(/^(===|journalctl|2026-)/);
  });
});
