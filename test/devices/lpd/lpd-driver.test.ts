import { createHash, randomBytes } from 'node:crypto';
import { createServer, type NetConnectOpts, type Server } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SystemClock } from '../../../src/clock/system-clock.ts';
import { isDeviceError } from '../../../src/devices/device-error.ts';
import { controlFile } from '../../../src/devices/lpd/lpd-control-file.ts';
import { LpdDriver } from '../../../src/devices/lpd/lpd-driver.ts';
import { freePort } from '../../support/free-port.ts';
import { type LpdServerHandle, startLpdServer } from '../../support/lpd-server.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// The real node:net, with the options of every connect() the driver asks for recorded.
const asked = vi.hoisted(() => [] as NetConnectOpts[]);
vi.mock('node:net', async (importOriginal) =>
  (await import('../../support/connect-recorder.ts')).recordingConnect(await importOriginal(), asked),
);
const clock = new SystemClock();

describe('LPD control file', () => {
  it('prints literally, unlinks after, and cannot be broken by names with line breaks', () => {
    const text = controlFile({
      host: 'gw',
      user: 'alice\nPmallory',
      jobName: 'job-1',
      dataFileName: 'dfA001gw',
      sourceName: 'report.pdf',
    }).toString('latin1');
    expect(text).toBe('Hgw\nPalice_Pmallory\nJjob-1\nldfA001gw\nUdfA001gw\nNreport.pdf\n');
  });
});

describe('LPD driver against LPRng lpd', () => {
  let lpd: LpdServerHandle;
  beforeAll(async () => {
    lpd = await startLpdServer();
  });
  afterAll(async () => {
    await lpd?.stop();
  });

  it('queues a job with known size, waits until it has printed, byte-exact', async () => {
    const driver = new LpdDriver({
      id: 'lp',
      host: '127.0.0.1',
      port: lpd.port,
      queue: lpd.queue,
      clock,
      pollIntervalMs: 50,
    });
    const data = randomBytes(256 * 1024);
    const before = (await lpd.printed()).length;
    const result = await driver.print({
      jobId: 'lpd-job-1',
      document: Readable.from([data]),
      size: data.length,
    });
    expect(result.bytesSent).toBe(data.length);
    const printed = (await lpd.printed()).subarray(before);
    expect(sha256(printed)).toBe(sha256(data));
    expect((await driver.status()).state).toBe('idle');
  });

  it('spools a document of unknown size to learn its length, then sends it byte-exact', async () => {
    const driver = new LpdDriver({
      id: 'lp',
      host: '127.0.0.1',
      port: lpd.port,
      queue: lpd.queue,
      clock,
      pollIntervalMs: 50,
    });
    const data = randomBytes(100_000);
    const before = (await lpd.printed()).length;
    const document = Readable.from([data.subarray(0, 40_000), data.subarray(40_000)]);
    await driver.print({ jobId: 'lpd-job-2', document });
    expect(sha256((await lpd.printed()).subarray(before))).toBe(sha256(data));
  });

  it('sends each command at once (TCP_NODELAY): no command waits for the ACK of the one before', async () => {
    // A job ends with write-write-read twice (the document then its NUL, the control file then
    // its NUL): with Nagle's algorithm each NUL waited for lpd's delayed ACK, ~40 ms. A 3 kB job
    // against LPRng took ~115 ms, ~28 ms with TCP_NODELAY.
    const driver = new LpdDriver({
      id: 'lp',
      host: '127.0.0.1',
      port: lpd.port,
      queue: lpd.queue,
      clock,
      pollIntervalMs: 50,
    });
    const data = randomBytes(3000);
    asked.length = 0;
    await driver.print({ jobId: 'lpd-nodelay', document: Readable.from([data]), size: data.length });
    expect(asked.length).toBeGreaterThan(0);
    for (const options of asked) expect(options).toMatchObject({ port: lpd.port, noDelay: true });
  });

  it('reports a queue the server does not have as REJECTED', async () => {
    const driver = new LpdDriver({
      id: 'lp',
      host: '127.0.0.1',
      port: lpd.port,
      queue: 'nosuchqueue',
      clock,
    });
    const err = await driver
      .print({ jobId: 'j', document: Readable.from([Buffer.from('x')]), size: 1 })
      .catch((e: unknown) => e);
    expect(isDeviceError(err, 'MFP_DEV_ERR_REJECTED')).toBe(true);
  });
});

describe('LPD driver: unreachable and misbehaving servers', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('says UNREACHABLE / offline when nothing listens', async () => {
    const port = await freePort();
    const driver = new LpdDriver({ id: 'lp', host: '127.0.0.1', port, queue: 'raw', clock });
    const err = await driver
      .print({ jobId: 'j', document: Readable.from([Buffer.from('x')]), size: 1 })
      .catch((e: unknown) => e);
    expect(isDeviceError(err, 'MFP_DEV_ERR_UNREACHABLE')).toBe(true);
    expect((await driver.status()).state).toBe('offline');
  });

  it('treats a server that hangs up instead of acknowledging as MALFORMED_REPLY', async () => {
    server = createServer((s) => s.once('data', () => s.end()));
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const driver = new LpdDriver({ id: 'lp', host: '127.0.0.1', port, queue: 'raw', clock });
    const err = await driver
      .print({ jobId: 'j', document: Readable.from([Buffer.from('x')]), size: 1 })
      .catch((e: unknown) => e);
    expect(isDeviceError(err, 'MFP_DEV_ERR_MALFORMED_REPLY')).toBe(true);
  });

  it('refuses a document longer than announced before the job is queued', async () => {
    const lpd = await startLpdServer();
    try {
      const driver = new LpdDriver({ id: 'lp', host: '127.0.0.1', port: lpd.port, queue: lpd.queue, clock });
      const err = await driver
        .print({ jobId: 'j', document: Readable.from([Buffer.from('12345')]), size: 3 })
        .catch((e: unknown) => e);
      expect(isDeviceError(err, 'MFP_DEV_ERR_ABORTED')).toBe(true);
      expect((await lpd.printed()).length).toBe(0);
    } finally {
      await lpd.stop();
    }
  });
});
