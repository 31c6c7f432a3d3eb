import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import type { PrintJob } from '../../../src/devices/device-driver.ts';
import { type DeviceErrorCode, isDeviceError } from '../../../src/devices/device-error.ts';
import { StorageDriver } from '../../../src/devices/storage/storage-driver.ts';
import { decryptFile } from '../../../src/storage/secure-file.ts';
import { SecureFileError } from '../../../src/storage/secure-format.ts';

const key = randomBytes(32);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let dir: string;
let clock: ManualClock;
let driver: StorageDriver;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'storage-driver-'));
  clock = new ManualClock();
  driver = new StorageDriver({ id: 'nas', target: { directory: dir }, key, clock });
});
afterEach(async () => {
  await driver.close();
  await rm(dir, { recursive: true, force: true });
});

function job(data: Buffer, fields: Partial<PrintJob> = {}): PrintJob {
  return { jobId: 'job-42', document: Readable.from([data]), ...fields };
}

async function expectDeviceError(promise: Promise<unknown>, code: DeviceErrorCode): Promise<Error> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isDeviceError(err), String(err)).toBe(true);
  expect((err as { code: string }).code, (err as Error).message).toBe(code);
  return err as Error;
}

/** A document that hands out chunks until it is told to stop, then waits (a tunnel that went quiet). */
function stallingDocument(chunks: number, onStall: () => void): Readable {
  let reads = 0;
  return new Readable({
    read() {
      if (++reads > chunks) onStall();
      else this.push(randomBytes(64 * 1024));
    },
  });
}

describe('storage driver', () => {
  it('stores a job encrypted under its name and reports it done with the injected clock', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    clock.advance(5000);
    const result = await driver.print(job(data, { name: 'scan.pdf' }));
    expect(result).toEqual({ deviceJobId: 'scan.pdf.enc', bytesSent: data.length, completedAt: clock.now() });
    expect(await readdir(dir)).toEqual(['scan.pdf.enc']);
    expect((await readFile(join(dir, 'scan.pdf.enc'))).subarray(0, 8).toString()).toBe('MFPGWENC');
    await decryptFile(join(dir, 'scan.pdf.enc'), join(dir, 'plain'), key);
    expect(sha256(await readFile(join(dir, 'plain')))).toBe(sha256(data));
  });

  it('keeps the last part of a name with client folders, and falls back to the job id', async () => {
    const names = await Promise.all([
      driver.print(job(Buffer.from('a'), { jobId: 'j1', name: 'C:\\Users\\ann\\report.docx' })),
      driver.print(job(Buffer.from('b'), { jobId: 'j2' })),
      driver.print(job(Buffer.from('c'), { jobId: 'j3', name: '..' })),
      driver.print(job(Buffer.from('d'), { jobId: 'j4', name: '.profile' })),
    ]);
    expect(names.map((r) => r.deviceJobId)).toEqual(['report.docx.enc', 'j2.enc', 'j3.enc', 'j4.enc']);
  });

  it('refuses a job with neither a usable name nor id', async () => {
    await expectDeviceError(
      driver.print(job(Buffer.from('x'), { jobId: '../x', name: '' })),
      'MFP_DEV_ERR_REJECTED',
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('stores a second job of the same name beside the first', async () => {
    const first = await driver.print(job(Buffer.from('one'), { name: 'scan.pdf' }));
    const second = await driver.print(job(Buffer.from('two'), { name: 'scan.pdf' }));
    expect([first.deviceJobId, second.deviceJobId]).toEqual(['scan.pdf.enc', 'scan.pdf-1.enc']);
  });

  it('reports an aborted job as ABORTED and leaves no file', async () => {
    const controller = new AbortController();
    const err = await expectDeviceError(
      driver.print(
        job(Buffer.alloc(0), { document: stallingDocument(8, () => controller.abort()) }),
        controller.signal,
      ),
      'MFP_DEV_ERR_ABORTED',
    );
    expect(err.message).toMatch(/^nas: .*nothing was stored/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports a document stream that fails as ABORTED, asking for it again', async () => {
    const document = new Readable({ read() {} });
    document.push(randomBytes(1000));
    const printing = driver.print(job(Buffer.alloc(0), { document }));
    document.destroy(new Error('tunnel reset'));
    const err = await expectDeviceError(printing, 'MFP_DEV_ERR_ABORTED');
    expect(err.message).toMatch(/tunnel reset.*send it again/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('says it is printing while a job is stored, and idle after', async () => {
    const document = new Readable({ read() {} });
    const printing = driver.print(job(Buffer.alloc(0), { document }));
    document.push(Buffer.from('part'));
    expect((await driver.status()).state).toBe('printing');
    document.push(null);
    await printing;
    expect((await driver.status()).state).toBe('idle');
  });

  it('is offline with a reason when its directory is missing or not a directory, and says since when', async () => {
    const missing = new StorageDriver({
      id: 'nas2',
      target: { directory: join(dir, 'unmounted') },
      key,
      clock,
    });
    const t0 = clock.now();
    const status = await missing.status();
    expect(status).toMatchObject({ state: 'offline', reasons: ['offline'], since: t0 });
    expect(status.message).toMatch(/unmounted.*ENOENT.*mounted and writable/);
    clock.advance(1000);
    expect((await missing.status()).since).toBe(t0);
    await expectDeviceError(missing.print(job(Buffer.from('x'))), 'MFP_DEV_ERR_UNREACHABLE');
    await missing.close();

    await writeFile(join(dir, 'file'), 'x');
    const notDir = new StorageDriver({ id: 'nas3', target: { directory: join(dir, 'file') }, key, clock });
    expect(await notDir.status()).toMatchObject({
      state: 'offline',
      message: expect.stringMatching(/not a directory/),
    });
    await notDir.close();

    expect(await driver.status()).toMatchObject({ state: 'idle', reasons: [] });
  });

  it('aborts a running store when closed, leaving no file, and refuses calls after', async () => {
    const printing = driver.print(
      job(Buffer.alloc(0), { document: stallingDocument(4, () => void driver.close()) }),
    );
    await expectDeviceError(printing, 'MFP_DEV_ERR_CLOSED');
    expect(await readdir(dir)).toEqual([]);
    await expectDeviceError(driver.print(job(Buffer.from('x'))), 'MFP_DEV_ERR_CLOSED');
    await expectDeviceError(driver.status(), 'MFP_DEV_ERR_CLOSED');
  });

  it('will not start with a key that is not 32 bytes', () => {
    expect(
      () => new StorageDriver({ id: 'x', target: { directory: dir }, key: randomBytes(16), clock }),
    ).toThrow(SecureFileError);
  });
});
