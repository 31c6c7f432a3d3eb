import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../../../src/clock/system-clock.ts';
import { isDeviceError } from '../../../src/devices/device-error.ts';
import { UEL } from '../../../src/devices/pjl/pjl-commands.ts';
import type { PjlDriver } from '../../../src/devices/pjl/pjl-driver.ts';
import { openSerialPjlDriver } from '../../../src/devices/serial/serial-driver.ts';
import type { LineState, SerialLink } from '../../../src/devices/serial/serial-link.ts';
import { SimMfp } from '../../../src/sim/mfp/sim-mfp.ts';
import { type SocatPty, startSocatPty } from '../../support/socat-pty.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function documentBytes(size: number): Buffer {
  const data = randomBytes(size);
  expect(data.indexOf(UEL)).toBe(-1);
  return data;
}

function chunks(data: Buffer, size = 4096): Readable {
  return Readable.from(
    (function* () {
      for (let o = 0; o < data.length; o += size) yield data.subarray(o, o + size);
    })(),
  );
}

function lineBecomes(link: SerialLink, up: boolean): Promise<LineState> {
  return new Promise((resolve) => {
    if (link.lineState.up === up) return resolve(link.lineState);
    const off = link.onStateChange((s) => {
      if (s.up === up) {
        off();
        resolve(s);
      }
    });
  });
}

describe('PJL over a serial line (socat pty pair) to the sim MFP', () => {
  let pty: SocatPty;
  let dir: string;
  let sim: SimMfp;
  let driver: PjlDriver;
  let link: SerialLink;
  const clock = new SystemClock();

  beforeEach(async () => {
    pty = await startSocatPty();
    dir = await mkdtemp(join(tmpdir(), 'mfpgw-serial-'));
    sim = new SimMfp({ spoolDir: dir });
    await sim.serveSerial(pty.b);
    ({ driver, link } = await openSerialPjlDriver({
      id: 'serial-mfp',
      path: pty.a,
      baudRate: 115_200,
      clock,
      reopenInitialMs: 50,
      reopenMaxMs: 200,
      maxQueuedBytes: 8 * 1024,
    }));
  });
  afterEach(async () => {
    await driver.close();
    await sim.close();
    await pty.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('finishes every job when its writes fill the line while the port waits to read', async () => {
    // Each document goes as one 64 KiB write, more than the pty holds: the write meets EAGAIN
    // and waits for the line to drain while the port's reader waits for the device to speak.
    // bindings-cpp's poller kept only the last wait, so a job stalled with bytes queued.
    const docs = Array.from({ length: 30 }, () => documentBytes(64 * 1024));
    const results = await Promise.all(
      docs.map((doc, i) => driver.print({ jobId: `full-${i}`, document: Readable.from([doc]) })),
    );
    expect(results.map((r) => r.bytesSent)).toEqual(docs.map((d) => d.length));
    expect(sim.jobs).toHaveLength(docs.length);
    for (const [i, doc] of docs.entries()) {
      expect(sha256(await readFile(sim.jobs[i]?.path as string))).toBe(sha256(doc));
    }
  });

  it('prints byte-exact and reads status over the line', async () => {
    expect(link.lineState.up).toBe(true);
    const data = documentBytes(200_000);
    const result = await driver.print({ jobId: 'serial-1', document: chunks(data) });
    expect(result.bytesSent).toBe(data.length);
    expect(sim.jobs).toHaveLength(1);
    expect(sha256(await readFile(sim.jobs[0]?.path as string))).toBe(sha256(data));
    const status = await driver.status();
    expect(status).toMatchObject({ state: 'idle', pageCount: sim.pageCounter });
  });

  it('unplugged mid-job: fails with a clear reason, goes offline, comes back on replug, never prints twice', async () => {
    sim.setSlowConsumer(50_000);
    const first = documentBytes(400_000);
    const printing = driver.print({ jobId: 'cut', document: chunks(first) }).catch((e: unknown) => e);
    await new Promise<void>((resolve) => {
      const off = sim.onChange(() => {
        if (sim.documentBytesReceived > 20_000) {
          off();
          resolve();
        }
      });
    });
    const down = lineBecomes(link, false);
    await pty.unplug();
    const err = await printing;
    expect(isDeviceError(err, 'MFP_DEV_ERR_INTERRUPTED')).toBe(true);
    expect(String(err)).toContain('not resent');
    const state = await down;
    expect(state.up).toBe(false);
    expect((await driver.status()).state).toBe('offline');
    const whilePulled = await driver
      .print({ jobId: 'x', document: Readable.from([Buffer.from('x')]) })
      .catch((e: unknown) => e);
    expect(isDeviceError(whilePulled, 'MFP_DEV_ERR_UNREACHABLE')).toBe(true);

    sim.setSlowConsumer(undefined);
    const up = lineBecomes(link, true);
    // The sim MFP, like real firmware, notices the dead line and reopens its end too.
    const simBack = new Promise<void>((resolve) => {
      if (sim.serialOpens === 2) return resolve();
      const off = sim.onChange(() => {
        if (sim.serialOpens === 2) {
          off();
          resolve();
        }
      });
    });
    await pty.plug();
    await Promise.all([up, simBack]);
    const second = documentBytes(50_000);
    await driver.print({ jobId: 'after-replug', document: chunks(second) });
    // The cut job never completed at the printer and was not resent: one job, the second one.
    expect(sim.jobs.map((j) => j.name)).toEqual(['after-replug']);
    expect(sha256(await readFile(sim.jobs[0]?.path as string))).toBe(sha256(second));
  });
});
