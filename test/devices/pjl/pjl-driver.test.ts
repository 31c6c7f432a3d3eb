import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { SystemClock } from '../../../src/clock/system-clock.ts';
import type { DirectConnect } from '../../../src/devices/device-driver.ts';
import { isDeviceError } from '../../../src/devices/device-error.ts';
import { UEL } from '../../../src/devices/pjl/pjl-commands.ts';
import { PjlDriver } from '../../../src/devices/pjl/pjl-driver.ts';
import { TcpLink } from '../../../src/devices/pjl/tcp-link.ts';
import { SimMfp } from '../../../src/sim/mfp/sim-mfp.ts';
import { FakeCloud } from '../../support/direct-cloud.ts';
import { freePort } from '../../support/free-port.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Random bytes that happen not to contain the UEL sequence (PDLs never do). */
function documentBytes(size: number): Buffer {
  const data = randomBytes(size);
  expect(data.indexOf(UEL)).toBe(-1);
  return data;
}

function chunks(data: Buffer, size = 16 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let o = 0; o < data.length; o += size) yield data.subarray(o, o + size);
    })(),
  );
}

/** Resolves when cond() holds, re-checked on every change the sim reports. */
function until(sim: SimMfp, cond: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (cond()) return resolve();
    const off = sim.onChange(() => {
      if (cond()) {
        off();
        resolve();
      }
    });
  });
}

describe('PJL driver over raw TCP against the sim MFP', () => {
  let dir: string;
  let sim: SimMfp;
  let driver: PjlDriver;
  const clock = new SystemClock();

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mfpgw-pjl-'));
    sim = new SimMfp({ spoolDir: dir, pageCount: 100 });
    const port = await sim.listenPjl();
    driver = new PjlDriver({
      id: 'mfp',
      link: new TcpLink({ deviceId: 'mfp', host: '127.0.0.1', port, clock }),
      clock,
    });
  });
  afterEach(async () => {
    await driver.close();
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints byte-exact: the stored document is the stream without the PJL wrapper', async () => {
    const data = documentBytes(1024 * 1024);
    const result = await driver.print({ jobId: 'job-1', document: chunks(data), format: 'application/pdf' });
    expect(result.bytesSent).toBe(data.length);
    expect(result.deviceJobId).toBe('job-1');
    expect(sim.jobs).toHaveLength(1);
    expect(result.pages).toBe(sim.jobs[0]?.pages);
    expect(sha256(await readFile(sim.jobs[0]?.path as string))).toBe(sha256(data));
  });

  it('reads status and page count, and the count moves with printing', async () => {
    const before = await driver.status();
    expect(before).toMatchObject({ state: 'idle', reasons: [], pageCount: 100, message: 'READY' });
    await driver.print({ jobId: 'p', document: Readable.from([Buffer.from('page one\fpage two\f')]) });
    expect((await driver.status()).pageCount).toBe(102);
  });

  it('reports paper out and offline with their reasons', async () => {
    sim.setFault('paper-out');
    expect(await driver.status()).toMatchObject({ state: 'stopped', reasons: ['media-empty'] });
    sim.setFault('offline');
    expect(await driver.status()).toMatchObject({ state: 'stopped', reasons: ['offline'] });
    sim.setFault(undefined);
    expect((await driver.status()).state).toBe('idle');
  });

  it('a job on a printer out of paper waits, shows why, and is done only when the printer finishes it', async () => {
    sim.setFault('paper-out');
    let settled = false;
    const data = documentBytes(10_000);
    const printing = driver.print({ jobId: 'waits', document: chunks(data) }).finally(() => {
      settled = true;
    });
    await until(sim, () => sim.jobs.length === 1);
    const during = await driver.status();
    expect(during).toMatchObject({ state: 'stopped', reasons: ['media-empty'] });
    expect(settled).toBe(false);
    sim.setFault(undefined);
    const result = await printing;
    expect(result.bytesSent).toBe(data.length);
  });

  it('respects backpressure from a slow printer and aborts cleanly mid-document', async () => {
    sim.setSlowConsumer(1024 * 1024);
    const total = 64 * 1024 * 1024;
    let produced = 0;
    const document = new Readable({
      read() {
        const chunk = Buffer.alloc(64 * 1024, 0x41);
        produced += chunk.length;
        this.push(produced > total ? null : chunk);
      },
    });
    const abort = new AbortController();
    const printing = driver.print({ jobId: 'slow', document }, abort.signal).catch((e: unknown) => e);
    await until(sim, () => sim.documentBytesReceived >= 256 * 1024);
    abort.abort();
    const err = await printing;
    expect(isDeviceError(err, 'MFP_DEV_ERR_ABORTED')).toBe(true);
    // Only socket buffers' worth was read ahead of the printer, not the 64 MB document.
    expect(produced).toBeLessThan(total / 4);
    // The printer is left clean: the next job prints.
    sim.setSlowConsumer(undefined);
    const next = await driver.print({ jobId: 'after', document: Readable.from([Buffer.from('ok')]) });
    expect(next.bytesSent).toBe(2);
  });
});

describe('PJL driver: seed 001’s connect (7G) and interrupt (7L), in band with the document', () => {
  it('passes CONNECT mid-document, hears CONNECTED, and on the interrupt returns what the device holds', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mfpgw-pjl-direct-'));
    const data = documentBytes(600_000);
    const cloud = new FakeCloud(data);
    const url = await cloud.listen();
    const sim = new SimMfp({ spoolDir: dir, directCapable: true });
    const clock = new SystemClock();
    const driver = new PjlDriver({
      id: 'mfp',
      link: new TcpLink({ deviceId: 'mfp', host: '127.0.0.1', port: await sim.listenPjl(), clock }),
      clock,
    });
    try {
      const document = new PassThrough();
      let giveConnect: ((c: DirectConnect) => void) | undefined;
      let connected: (() => void) | undefined;
      const isConnected = new Promise<void>((resolve) => {
        connected = resolve;
      });
      let interrupted = false;
      const printing = driver.print({
        jobId: 'job-d',
        document,
        direct: {
          nextConnect: () =>
            new Promise((resolve) => {
              giveConnect = resolve;
            }),
          interrupted: () => interrupted,
          report: (state) => (state === 'connected' ? connected?.() : undefined),
        },
      });
      document.write(data.subarray(0, 200_000));
      // Not all 200 000: the printer holds back a tail that may begin a UEL until more comes.
      await until(sim, () => sim.documentBytesReceived >= 150_000);
      giveConnect?.({ url, token: 'tok-d', mode: 'pull' });
      await isConnected;
      // The document goes on after the command, into the same job.
      document.write(data.subarray(200_000, 300_000));
      interrupted = true;
      document.end();
      const result = await printing;
      expect(result).toMatchObject({ bytesSent: 300_000, handedOver: { offset: 300_000 } });
      await until(sim, () => sim.jobs.length === 1);
      expect(sha256(await readFile(sim.jobs[0]?.path as string))).toBe(sha256(data));
      expect(cloud.requests.map((r) => r.url)).toEqual([
        '/direct/v1/jobs/job-d/connect',
        '/direct/v1/jobs/job-d/document?offset=300000',
        '/direct/v1/jobs/job-d/complete',
      ]);
    } finally {
      await driver.close();
      await sim.close();
      await cloud.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('PJL driver: unreachable, silent and garbage-speaking devices', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  async function scripted(onData: (data: Buffer, write: (s: string) => void) => void): Promise<number> {
    const s = createServer((socket) => {
      socket.on('data', (d) => onData(d, (text) => socket.write(Buffer.from(text, 'latin1'))));
      socket.on('error', () => {});
    });
    server = s;
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return (s.address() as { port: number }).port;
  }

  it('fails a print with UNREACHABLE and reports offline when nothing listens', async () => {
    const clock = new SystemClock();
    const port = await freePort();
    const driver = new PjlDriver({
      id: 'x',
      link: new TcpLink({ deviceId: 'x', host: '127.0.0.1', port, clock }),
      clock,
    });
    const err = await driver
      .print({ jobId: 'j', document: Readable.from([Buffer.from('x')]) })
      .catch((e: unknown) => e);
    expect(isDeviceError(err, 'MFP_DEV_ERR_UNREACHABLE')).toBe(true);
    expect((await driver.status()).state).toBe('offline');
  });

  it('turns garbage replies into MALFORMED_REPLY without crashing', async () => {
    const port = await scripted((_d, write) => write('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const clock = new SystemClock();
    const driver = new PjlDriver({
      id: 'g',
      link: new TcpLink({ deviceId: 'g', host: '127.0.0.1', port, clock }),
      clock,
    });
    const err = await driver.status().catch((e: unknown) => e);
    expect(isDeviceError(err, 'MFP_DEV_ERR_MALFORMED_REPLY')).toBe(true);
    expect(String(err)).toContain('does not start with @PJL');
  });

  it('turns a reply without CODE into MALFORMED_REPLY', async () => {
    const port = await scripted((_d, write) => write('@PJL INFO STATUS\r\nDISPLAY="?"\r\n\f'));
    const clock = new SystemClock();
    const driver = new PjlDriver({
      id: 'g',
      link: new TcpLink({ deviceId: 'g', host: '127.0.0.1', port, clock }),
      clock,
    });
    expect(isDeviceError(await driver.status().catch((e: unknown) => e), 'MFP_DEV_ERR_MALFORMED_REPLY')).toBe(
      true,
    );
  });

  it('times out on the injected clock when the device never answers, and says offline', async () => {
    const clock = new ManualClock();
    let asked: () => void = () => {};
    const askedPromise = new Promise<void>((r) => {
      asked = r;
    });
    const port = await scripted(() => asked());
    const driver = new PjlDriver({
      id: 's',
      link: new TcpLink({ deviceId: 's', host: '127.0.0.1', port, clock }),
      clock,
      replyTimeoutMs: 5000,
    });
    const status = driver.status();
    await askedPromise;
    clock.advance(5000);
    const result = await status;
    expect(result.state).toBe('offline');
    expect(result.message).toContain('no reply to INFO STATUS within 5000 ms');
  });
});
