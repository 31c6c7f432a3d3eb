/**
 * Test harness: runs a real LPD server, LPRng's `lpd` (Debian package lprng), in the
 * foreground on a loopback port with its own configuration.
 *
 * LPRng reads /etc/lprng/lpd.conf and nothing else can point it elsewhere, so lpd runs in
 * its own mount namespace (`unshare -m`) with a temp dir bind-mounted over /etc/lprng: the
 * machine's configuration and any system lpd are untouched. The one queue, `raw`, prints
 * with no filter, banner or form feeds to a file, so that file holds exactly the documents
 * that were printed. Needs root (unshare, mount); lpd drops to the `daemon` user.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';
import { reapOnExit } from './reap-on-exit.ts';

export const LPD_BIN = '/usr/sbin/lpd';
const READY_DEADLINE_MS = 15_000;
/** Debian's LPRng runs as daemon:daemon (uid/gid 1). */
const DAEMON_UID = 1;
const DAEMON_GID = 1;

export interface LpdServerHandle {
  port: number;
  queue: string;
  /** Everything the queue printed so far, in order. */
  printed(): Promise<Buffer>;
  logs(): string;
  stop(): Promise<void>;
}

export function assertLpdInstalled(): void {
  if (!existsSync(LPD_BIN)) {
    throw new Error(`LPRng lpd missing (${LPD_BIN}); run: sudo bash .ci/install-peers.sh (package lprng)`);
  }
  if (userInfo().uid !== 0) throw new Error('the LPRng harness needs root (unshare -m and mount --bind)');
}

/** Starts lpd; resolves once it accepts TCP connections. */
export async function startLpdServer(): Promise<LpdServerHandle> {
  assertLpdInstalled();
  const dir = await mkdtemp(join(tmpdir(), 'mfpgw-lpd-'));
  await chmod(dir, 0o755);
  const etc = join(dir, 'etc');
  const spool = join(dir, 'spool', 'raw');
  const out = join(dir, 'out', 'raw.out');
  await mkdir(etc, { recursive: true });
  await mkdir(spool, { recursive: true });
  await mkdir(join(dir, 'out'));
  await writeFile(out, '');
  for (const p of [join(dir, 'spool'), spool, join(dir, 'out'), out]) await chown(p, DAEMON_UID, DAEMON_GID);
  const port = await freePort();
  await writeFile(
    join(etc, 'lpd.conf'),
    [
      `printcap_path=${join(etc, 'printcap')}`,
      `lockfile=${join(dir, 'lpd.lock')}`,
      `lpd_listen_port=${port}`,
      'unix_socket_path=off',
      'user=daemon',
      'group=daemon',
      '',
    ].join('\n'),
  );
  // sh: no banner; sf: no form feed between files; mx=0: no size limit; no filter given.
  await writeFile(join(etc, 'printcap'), `raw:sd=${spool}:lp=${out}:sh:sf:mx=0\n`);
  await copyFile('/etc/lprng/lpd.perms', join(etc, 'lpd.perms'));

  let log = '';
  const child: ChildProcess = spawn(
    'unshare',
    [
      '-m',
      'sh',
      '-c',
      'mount --bind "$1" /etc/lprng && exec "$2" -F -p "$3" -P off',
      'sh',
      etc,
      LPD_BIN,
      String(port),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const collect = (b: Buffer) => {
    if (log.length < 128 * 1024) log += b.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  reapOnExit(child);

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + READY_DEADLINE_MS;
  while (!(await answers(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`LPRng lpd did not start on port ${port}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, queue: 'raw', printed: () => readFile(out), logs: () => log, stop };
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
