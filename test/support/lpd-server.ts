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
import { existsSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { peerOnFreePort } from './peer-process.ts';

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

let counter = 0;

/** Starts lpd; resolves once it answers a status query for its queue. */
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
  // sh: no banner; sf: no form feed between files; mx=0: no size limit; no filter given.
  // cm: a comment the queue's status shows, so the readiness check knows this lpd from another.
  const comment = `mfpgw-test-${process.pid}-${++counter}`;
  await writeFile(join(etc, 'printcap'), `raw:sd=${spool}:lp=${out}:sh:sf:mx=0:cm=${comment}\n`);
  await copyFile('/etc/lprng/lpd.perms', join(etc, 'lpd.perms'));
  await writeFile(
    join(etc, 'lpd.conf'),
    [
      `printcap_path=${join(etc, 'printcap')}`,
      `lockfile=${join(dir, 'lpd.lock')}`,
      'unix_socket_path=off',
      'user=daemon',
      'group=daemon',
      '',
    ].join('\n'),
  );

  try {
    // lpd cannot pick a port and report it: on one taken since freePort() chose it, it exits
    // "Cannot bind to lpd port" and peerOnFreePort starts it on another.
    const lpd = await peerOnFreePort('startLpdServer', (port) => ({
      name: 'LPRng lpd',
      bin: 'unshare',
      args: [
        '-m',
        'sh',
        '-c',
        'mount --bind "$1" /etc/lprng && exec "$2" -F -p "$3" -P off',
        'sh',
        etc,
        LPD_BIN,
        String(port),
      ],
      // Its queue's status, not just an open port: whoever took the port meanwhile accepts too.
      ready: async () => (await longStatus(port, 'raw')).includes(`'${comment}'`),
      portInUse: /Cannot bind to lpd port/i,
      readyDeadlineMs: READY_DEADLINE_MS,
      pollMs: 50,
    }));
    return {
      port: lpd.port,
      queue: 'raw',
      printed: () => readFile(out),
      logs: () => lpd.process.output,
      stop: async () => {
        await lpd.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** What the LPD server on port says about queue (RFC 1179 long status); '' when nothing answers. */
function longStatus(port: number, queue: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(`\x04${queue}\n`));
    socket.setTimeout(1_000, () => socket.destroy());
    socket.on('data', (d: Buffer) => {
      text += d.toString();
    });
    socket.once('error', () => {}); // 'close' follows and resolves
    socket.once('close', () => resolve(text));
  });
}
