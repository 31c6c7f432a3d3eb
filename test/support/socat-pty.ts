/**
 * Test harness: a virtual serial cable — two pseudo-terminals joined by socat (Debian
 * package socat), reachable at fixed link paths. Killing socat is pulling the cable (both
 * ends see EIO / hang-up); starting it again on the same paths is plugging it back in.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reapOnExit } from './reap-on-exit.ts';

export const SOCAT_BIN = '/usr/bin/socat';
const READY_DEADLINE_MS = 10_000;

export interface SocatPty {
  /** The gateway's end of the cable. */
  a: string;
  /** The device's end. */
  b: string;
  /** Pulls the cable: SIGKILL to socat; resolves when it has exited. */
  unplug(): Promise<void>;
  /** Plugs a new cable in at the same paths; resolves when both ends exist. */
  plug(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSocatPty(): Promise<SocatPty> {
  if (!existsSync(SOCAT_BIN))
    throw new Error(`socat missing (${SOCAT_BIN}); run: sudo bash .ci/install-peers.sh`);
  const dir = await mkdtemp(join(tmpdir(), 'mfpgw-pty-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  let child: ChildProcess | undefined;
  let log = '';

  const plug = async (): Promise<void> => {
    const c = spawn(SOCAT_BIN, ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    c.stderr?.on('data', (d: Buffer) => {
      if (log.length < 64 * 1024) log += d.toString();
    });
    child = c;
    reapOnExit(c);
    const deadline = Date.now() + READY_DEADLINE_MS;
    // socat replaces the links on start; wait until both point at live ptys.
    while (!(linkReady(a) && linkReady(b) && log.includes('starting data transfer loop'))) {
      if (c.exitCode !== null || Date.now() > deadline) throw new Error(`socat did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    log = '';
  };
  const unplug = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  await plug();
  return {
    a,
    b,
    plug,
    unplug,
    async stop() {
      await unplug();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function linkReady(path: string): boolean {
  try {
    return existsSync(realpathSync(path));
  } catch {
    return false;
  }
}
