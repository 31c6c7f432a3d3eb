/**
 * The `ssh -R` baseline of the tunnel benchmark: a private OpenSSH server on a loopback
 * port (temporary host key, one authorized key, all in a scratch directory) and an
 * `ssh -N -R` client that forwards a port on the server's side to a target behind the
 * client. The server plays the cloud, the client the gateway, the target the device.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir } from '../../test/support/chain.ts';
import { freePort } from '../../test/support/free-port.ts';
import { reapOnExit } from '../../test/support/reap-on-exit.ts';

const SSHD = '/usr/sbin/sshd';
/** sshd refuses to start without its privilege separation directory. */
const PRIVSEP_DIR = '/run/sshd';
const READY_TIMEOUT_MS = 20_000;
const CHILDREN_GONE_TIMEOUT_MS = 3000;

/** A live remote forward: connections to `port` reach the target through ssh. */
export interface SshRemoteForward {
  readonly port: number;
  /** The cipher negotiated for the server-to-client direction, the one the bytes take. */
  readonly cipher: string;
  stop(): Promise<void>;
}

/** Why the baseline cannot run on this machine, or null when it can. */
export function sshUnavailable(): string | null {
  if (!existsSync(SSHD)) return `${SSHD} is missing: apt-get install -y openssh-server`;
  return null;
}

/** Starts sshd and `ssh -N -R` to 127.0.0.1:targetPort, optionally with one cipher (`ssh -c`). */
export async function startSshRemoteForward(targetPort: number, cipher?: string): Promise<SshRemoteForward> {
  const { dir, cleanup } = scratchDir('bench-ssh');
  // No keys left behind if the benchmark is killed: the exit hooks reap the processes.
  process.once('exit', cleanup);
  const children: ChildProcess[] = [];
  const stop = async () => {
    // The client first: the server's session process ends with its connection, and the
    // listener must outlive it to reap it (an orphan lingers as a zombie).
    for (const child of [...children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      await childrenGone(child.pid as number);
      child.kill();
      await once(child, 'exit');
    }
    process.off('exit', cleanup);
    cleanup();
  };
  try {
    mkdirSync(PRIVSEP_DIR, { recursive: true, mode: 0o755 });
    const key = (name: string) => {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(dir, name)]);
      return join(dir, name);
    };
    const hostKey = key('host_key');
    const clientKey = key('client_key');
    const authorizedKeys = join(dir, 'authorized_keys');
    copyFileSync(`${clientKey}.pub`, authorizedKeys);
    const sshdPort = await freePort();
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `ListenAddress 127.0.0.1:${sshdPort}`,
        `HostKey ${hostKey}`,
        `AuthorizedKeysFile ${authorizedKeys}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        'PermitRootLogin yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'AllowTcpForwarding yes',
        'LogLevel ERROR',
        '',
      ].join('\n'),
    );
    const sshd = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(sshd);
    reapOnExit(sshd);
    const sshdLog = collect(sshd);

    const port = await freePort();
    const ssh = spawn(
      'ssh',
      [
        '-N',
        '-v',
        ...(cipher ? ['-c', cipher] : []),
        '-i',
        clientKey,
        '-p',
        String(sshdPort),
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'BatchMode=yes',
        '-o',
        'ExitOnForwardFailure=yes',
        '-o',
        // sshd may still be starting: let the client retry its connection.
        'ConnectionAttempts=20',
        '-R',
        `127.0.0.1:${port}:127.0.0.1:${targetPort}`,
        `root@127.0.0.1`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.push(ssh);
    reapOnExit(ssh);
    const sshLog = collect(ssh);
    await waitForLine(ssh, sshLog, /remote forward success for: listen 127\.0\.0\.1:\d+/, () => sshdLog());
    const negotiated = /kex: server->client cipher: (\S+)/.exec(sshLog())?.[1] ?? 'unknown';
    return { port, cipher: negotiated, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Waits, for a while at most, until no process has `pid` as its parent (Linux /proc). */
async function childrenGone(pid: number): Promise<void> {
  const parentOf = (entry: string) => {
    try {
      return Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
    } catch {
      return null; // not a process, or it just ended
    }
  };
  for (const end = Date.now() + CHILDREN_GONE_TIMEOUT_MS; Date.now() < end; ) {
    if (!readdirSync('/proc').some((entry) => /^\d+$/.test(entry) && parentOf(entry) === pid)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Gathers a child's stderr; the returned function reads what came so far. */
function collect(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return () => text;
}

function waitForLine(child: ChildProcess, log: () => string, ready: RegExp, serverLog: () => string) {
  return new Promise<void>((resolve, reject) => {
    const fail = (why: string) => {
      clearInterval(poll);
      reject(new Error(`ssh -R did not come up: ${why}\nssh: ${log().slice(-1500)}\nsshd: ${serverLog()}`));
    };
    const started = Date.now();
    const poll = setInterval(() => {
      if (ready.test(log())) {
        clearInterval(poll);
        resolve();
      } else if (child.exitCode !== null) fail(`ssh exited with ${child.exitCode}`);
      else if (Date.now() - started > READY_TIMEOUT_MS) fail(`no forward within ${READY_TIMEOUT_MS} ms`);
    }, 50);
  });
}
