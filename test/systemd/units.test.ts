import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { scratchDir } from '../support/chain.ts';

const UNITS_DIR = fileURLToPath(new URL('../../systemd/', import.meta.url));
const UNITS = readdirSync(UNITS_DIR).filter((f) => f.endsWith('.service'));
const INSTALLED_BIN = '/opt/mfp-gateway/current/bin/mfp-gateway';
const INSTALLED_CRASH_LOG = `${INSTALLED_BIN}-crash-log`;
/** Exposure ×10 that `systemd-analyze security` may not exceed ("OK" ends at 3.9). */
const MAX_EXPOSURE = 25;

function systemdAnalyze(args: string[]): { status: number | null; output: string } {
  const run = spawnSync('systemd-analyze', args, { encoding: 'utf8' });
  if (run.error) {
    throw new Error(
      `systemd-analyze could not run (${run.error.message}): install the systemd package, e.g. sudo bash .ci/install-peers.sh`,
    );
  }
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}

/** The unit's settings, key → values in order (repeated keys accumulate). */
function directives(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('[')) continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    map.set(key, [...(map.get(key) ?? []), line.slice(eq + 1)]);
  }
  return map;
}

// systemd-analyze verify insists that ExecStart= names an existing executable; the
// bundle's launcher is not installed here, so each unit is checked as a copy whose
// commands point at a stand-in script, everything else unchanged.
const scratch = scratchDir('units');
afterAll(() => scratch.cleanup());
const standIn = join(scratch.dir, 'mfp-gateway');
writeFileSync(standIn, '#!/bin/sh\nexit 0\n');
chmodSync(standIn, 0o755);
function verifiableCopy(unit: string): string {
  const copy = join(scratch.dir, unit);
  const text = readFileSync(join(UNITS_DIR, unit), 'utf8');
  writeFileSync(copy, text.replaceAll(INSTALLED_CRASH_LOG, standIn).replaceAll(INSTALLED_BIN, standIn));
  return copy;
}

describe.each(UNITS)('systemd unit %s', (unit) => {
  it('passes systemd-analyze verify without a warning', () => {
    const result = systemdAnalyze(['verify', '--man=no', verifiableCopy(unit)]);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it(`is hardened: systemd-analyze security exposure at most ${MAX_EXPOSURE / 10}`, () => {
    const result = systemdAnalyze([
      'security',
      '--offline=yes',
      `--threshold=${MAX_EXPOSURE}`,
      '--no-pager',
      verifiableCopy(unit),
    ]);
    expect(result.status, result.output.split('\n').slice(-1)[0]).toBe(0);
  });

  it('runs the bundle as an unprivileged user with state and config directories', () => {
    const d = directives(readFileSync(join(UNITS_DIR, unit), 'utf8'));
    expect(d.get('ExecStart')?.[0]).toMatch(new RegExp(`^${INSTALLED_BIN} (run|cloud) --config /etc/`));
    expect(d.get('User')?.[0]).toMatch(/^mfp-/);
    expect(d.get('StateDirectory')).toBeDefined();
    expect(d.get('ConfigurationDirectory')).toBeDefined();
    expect(d.get('Restart')).toEqual(['on-failure']);
    expect(d.get('RestartPreventExitStatus')).toEqual(['78']);
    expect(d.get('After')).toContain('network-online.target');
    expect(d.get('WantedBy')).toEqual(['multi-user.target']);
  });
});

describe('the gateway unit', () => {
  const d = directives(readFileSync(join(UNITS_DIR, 'mfp-gateway.service'), 'utf8'));

  it('waits for READY=1 and WATCHDOG=1 from systemd-notify, a child of the daemon', () => {
    expect(d.get('Type')).toEqual(['notify']);
    expect(d.get('NotifyAccess')).toEqual(['all']);
    expect(d.get('WatchdogSec')).toEqual(['30s']);
  });

  it('reaches serial ports (dialout, tty devices) but no other device', () => {
    expect(d.get('SupplementaryGroups')).toEqual(['dialout']);
    expect(d.get('PrivateDevices')).toEqual(['no']);
    expect(d.get('DevicePolicy')).toEqual(['closed']);
    expect(d.get('DeviceAllow')).toEqual(expect.arrayContaining(['char-ttyUSB rw', 'char-ttyACM rw']));
  });

  it('imports the first-boot config as root before the sandboxed daemon starts', () => {
    expect(d.get('ExecStartPre')?.[0]).toBe(
      `-+${INSTALLED_BIN} run --first-boot-only --config /etc/mfp-gateway/gateway.yaml`,
    );
  });

  it('keeps a crash log as root around the daemon, whatever the script’s own fate', () => {
    expect(d.get('ExecStartPre')?.[1]).toBe(`-+${INSTALLED_CRASH_LOG} start`);
    expect(d.get('ExecStopPost')).toEqual([`-+${INSTALLED_CRASH_LOG} stop`]);
  });

  it('fits a 512 MB board', () => {
    expect(d.get('MemoryMax')).toEqual(['200M']);
    expect(d.get('MemorySwapMax')).toEqual(['0']);
  });
});

describe('the cloud unit', () => {
  const d = directives(readFileSync(join(UNITS_DIR, 'mfp-gateway-cloud.service'), 'utf8'));

  it('may open a socket for each of 10,000 gateways’ two lines, with room to spare', () => {
    const limit = Number(d.get('LimitNOFILE')?.[0]);
    expect(limit).toBeGreaterThanOrEqual(3 * 10_000);
  });
});
