import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { scratchDir, startCloud, startGatewayProcess } from '../support/chain.ts';
import type { CliProcess } from '../support/cli-process.ts';

const RECEIVER = fileURLToPath(new URL('./notify-socket.py', import.meta.url));

/** A NOTIFY_SOCKET bound by Python (Node cannot bind a datagram socket); collects messages. */
interface NotifySocket {
  path: string;
  messages: string[][];
  waitFor(match: (all: string[][]) => boolean, what: string): Promise<void>;
  close(): void;
}

function startNotifySocket(dir: string): Promise<NotifySocket> {
  const path = join(dir, 'notify.sock');
  const child: ChildProcess = spawn('python3', [RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: string[][] = [];
  const waiters: Array<() => void> = [];
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`notify-socket.py exited with ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line === 'listening') {
        resolve({
          path,
          messages,
          waitFor(match, what) {
            if (match(messages)) return Promise.resolve();
            return new Promise((ok, fail) => {
              const timer = setTimeout(
                () => fail(new Error(`no ${what} on NOTIFY_SOCKET; got ${JSON.stringify(messages)}`)),
                20_000,
              );
              waiters.push(() => {
                if (!match(messages)) return;
                clearTimeout(timer);
                ok();
              });
            });
          },
          close: () => child.kill(),
        });
        return;
      }
      messages.push(JSON.parse(line) as string[]);
      for (const w of [...waiters]) w();
    });
  });
}

const has = (field: string | RegExp) => (all: string[][]) =>
  all.some((m) => m.some((f) => (typeof field === 'string' ? f === field : field.test(f))));
const count = (field: string, all: string[][]) => all.filter((m) => m.includes(field)).length;

let procs: CliProcess[] = [];
let cleanups: Array<() => void> = [];
afterEach(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  for (const c of cleanups.reverse()) c();
  procs = [];
  cleanups = [];
});

describe('mfp-gateway run under systemd (Type=notify, WatchdogSec=)', () => {
  it('sends READY=1, a STATUS per change, WATCHDOG=1 at half WATCHDOG_USEC and STOPPING=1', async () => {
    const { dir, cleanup } = scratchDir('sd-notify');
    cleanups.push(cleanup);
    const socket = await startNotifySocket(dir);
    cleanups.push(() => socket.close());
    const cloud = await startCloud(dir);
    procs.push(cloud.proc);
    const gateway = startGatewayProcess(
      dir,
      { url: `ws://127.0.0.1:${cloud.port}/push`, token: cloud.gatewayToken },
      {},
      { NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '400000' },
    );
    procs.push(gateway);

    await socket.waitFor(has('READY=1'), 'READY=1');
    const ready = socket.messages.find((m) => m.includes('READY=1'));
    expect(ready).toContainEqual(expect.stringMatching(/^STATUS=\d\/2 push lines up/));

    await socket.waitFor(has(/^STATUS=2\/2 push lines up/), 'a status with both lines up');
    // Pings every 200 ms: several arrive while the lines come up; wait for two after it.
    const before = count('WATCHDOG=1', socket.messages);
    await socket.waitFor((all) => count('WATCHDOG=1', all) >= before + 2, 'two more WATCHDOG=1');

    expect(await gateway.stop('SIGTERM')).toBe(0);
    await socket.waitFor(has('STOPPING=1'), 'STOPPING=1');
    const readyAt = socket.messages.indexOf(ready as string[]);
    const firstPing = socket.messages.findIndex((m) => m.includes('WATCHDOG=1'));
    expect(firstPing).toBeGreaterThan(readyAt);
  });
});
