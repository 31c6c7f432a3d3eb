/**
 * Test harness: runs Debian's net-snmp agent (`snmpd`, package `snmpd`) as a printer's agent,
 * in the foreground, on a free loopback UDP port with its own config in a temp dir. Its Host
 * Resources modules are left out and the printer's objects are static `override` lines, so the
 * test decides every value while snmpd does all the SNMP (v2c GET, GETBULK walks, encoding).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reapOnExit } from './reap-on-exit.ts';

export const SNMPD_BIN = '/usr/sbin/snmpd';
const READY_DEADLINE_MS = 10_000;
const PORT_ATTEMPTS = 3;
/** net-snmp's Host Resources modules: without them the hr* objects are ours, not the test host's. */
const HOST_MODULES = [
  'hr_system',
  'hr_storage',
  'hr_device',
  'hr_other',
  'hr_proc',
  'hr_network',
  'hr_print',
  'hr_disk',
  'hr_partition',
  'hr_filesys',
  'hr_swrun',
  'hr_swinst',
];

/** One object the agent serves: its instance OID and an `override` type and value. */
export interface SnmpdValue {
  oid: string;
  type: 'integer' | 'counter' | 'octet_str';
  /** A number, a string, or for octet_str `0x…` hex. */
  value: string | number;
}

export interface SnmpdHandle {
  readonly port: number;
  stop(): Promise<void>;
  /** snmpd's own log, for diagnostics. */
  log(): string;
}

/** A UDP port that was free a moment ago on 127.0.0.1. */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** Starts snmpd serving `values` to community `community` on a free port. */
export async function startSnmpd(values: SnmpdValue[], community = 'public'): Promise<SnmpdHandle> {
  if (!existsSync(SNMPD_BIN)) {
    throw new Error(
      `snmpd is not installed (${SNMPD_BIN} missing): run \`sudo bash .ci/install-peers.sh\`, or apt-get install -y snmpd`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'mfpgw-snmpd-'));
  const conf = join(dir, 'snmpd.conf');
  await writeFile(
    conf,
    [
      `rocommunity ${community} 127.0.0.1`,
      ...values.map(
        (v) =>
          `override ${v.oid} ${v.type} ${typeof v.value === 'string' && v.type === 'octet_str' && !v.value.startsWith('0x') ? `"${v.value}"` : v.value}`,
      ),
      '',
    ].join('\n'),
  );
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freeUdpPort();
    try {
      const handle = await run(conf, port);
      return {
        ...handle,
        stop: async () => {
          await handle.stop();
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      lastError = err as Error;
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError ?? new Error('startSnmpd: could not start');
}

async function run(conf: string, port: number): Promise<SnmpdHandle> {
  // -f: foreground; -Lo: log to stdout; -C: only our config; -I: leave modules out (no smux on TCP 199).
  const child: ChildProcess = spawn(
    SNMPD_BIN,
    [
      '-f',
      '-Lo',
      '-C',
      '-c',
      conf,
      '-I',
      ['smux', ...HOST_MODULES].map((m) => `-${m}`).join(','),
      `udp:127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MIBS: '' } },
  );
  reapOnExit(child);
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`snmpd did not start in time:\n${output}`)),
      READY_DEADLINE_MS,
    );
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('NET-SNMP version')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`snmpd exited:\n${output}`));
    });
  });
  return {
    port,
    log: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
