import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import type { DeviceConfig } from '../../../src/config/device-config.ts';
import { DeviceError } from '../../../src/devices/device-error.ts';
import { StorageDriver } from '../../../src/devices/storage/storage-driver.ts';
import { storageTarget } from '../../../src/gateway/devices/storage-target.ts';
import { decryptFile } from '../../../src/storage/secure-file.ts';
import {
  type SambaServer,
  type SftpServer,
  startSambaServer,
  startSftpServer,
} from '../../support/file-servers.ts';

// Secure storage on real file servers: OpenSSH's sftp-server and Samba, as a NAS speaks them.
const key = randomBytes(32);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
type StorageConfig = Extract<DeviceConfig, { driver: 'storage' }>;

let scratch: string;
let sftp: SftpServer;
let samba: SambaServer;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'remote-share-'));
  [sftp, samba] = await Promise.all([startSftpServer(), startSambaServer()]);
}, 30_000);

afterAll(async () => {
  await Promise.all([sftp?.stop(), samba?.stop()]);
  await rm(scratch, { recursive: true, force: true });
});

function device(extra: Partial<StorageConfig>): StorageConfig {
  return {
    id: 'nas',
    driver: 'storage',
    directCapable: false,
    directVia: 'own',
    spec: {},
    statusEvery: 60_000,
    protection: 'encrypt',
    timeout: 10_000,
    ...extra,
  };
}

function driverFor(config: StorageConfig): StorageDriver {
  return new StorageDriver({
    id: config.id,
    target: storageTarget(config, scratch),
    key,
    clock: new ManualClock(),
  });
}

const sftpDevice = (extra: Partial<StorageConfig> = {}) =>
  device({ url: sftp.url, hostKey: sftp.hostKey, privateKeyFile: sftp.privateKeyFile, ...extra });
const smbDevice = (extra: Partial<StorageConfig> = {}) =>
  device({ url: samba.url, username: samba.username, password: samba.password, ...extra });

/** Decrypts a stored file with the site's key, as `mfp-gateway decrypt` does. */
async function decrypted(path: string): Promise<Buffer> {
  const out = join(scratch, `out-${randomBytes(4).toString('hex')}`);
  await decryptFile(path, out, key);
  return readFile(out);
}

/** A document that arrives in 64 KiB pieces, as from a tunnel. */
function documentOf(bytes: Buffer): Readable {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 65_536) pieces.push(bytes.subarray(at, at + 65_536));
  return Readable.from(pieces);
}

async function rejection(promise: Promise<unknown>): Promise<DeviceError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DeviceError);
  return err as DeviceError;
}

describe('SFTP (OpenSSH sftp-server)', () => {
  it('stores a document encrypted, byte-exact once decrypted, under a free name', async () => {
    const driver = driverFor(sftpDevice());
    const doc = randomBytes(3 * 1024 * 1024 + 17);
    const first = await driver.print({ jobId: 'j1', name: 'scan.pdf', document: documentOf(doc) });
    const second = await driver.print({
      jobId: 'j2',
      name: 'scan.pdf',
      document: documentOf(doc.subarray(0, 1000)),
    });
    expect([first.deviceJobId, second.deviceJobId]).toEqual(['scan.pdf.enc', 'scan.pdf-1.enc']);
    expect(first.bytesSent).toBe(doc.length);
    expect((await readdir(sftp.dir)).sort()).toEqual(['scan.pdf-1.enc', 'scan.pdf.enc']);
    const stored = await readFile(join(sftp.dir, 'scan.pdf.enc'));
    expect(stored.includes(doc.subarray(0, 64))).toBe(false);
    expect(sha256(await decrypted(join(sftp.dir, 'scan.pdf.enc')))).toBe(sha256(doc));
    expect(sha256(await decrypted(join(sftp.dir, 'scan.pdf-1.enc')))).toBe(sha256(doc.subarray(0, 1000)));
    expect((await driver.status()).state).toBe('idle');
  });

  it('refuses a server that shows another host key, and stores nothing', async () => {
    const other = `SHA256:${randomBytes(32).toString('base64').replace(/=+$/, '')}`;
    const driver = driverFor(sftpDevice({ hostKey: other }));
    const before = await readdir(sftp.dir);
    const err = await rejection(
      driver.print({ jobId: 'j3', name: 'evil.pdf', document: documentOf(randomBytes(10)) }),
    );
    expect(err.code).toBe('MFP_DEV_ERR_REJECTED');
    expect(err.message).toContain(sftp.hostKey);
    expect(await readdir(sftp.dir)).toEqual(before);
    const status = await driver.status();
    expect(status.state).toBe('offline');
    expect(status.message).toContain('not the configured hostKey');
  });

  it('leaves no partial file when the document breaks off', async () => {
    const driver = driverFor(sftpDevice());
    const before = await readdir(sftp.dir);
    const broken = new Readable({
      read() {
        this.push(randomBytes(100_000));
        this.destroy(new Error('tunnel closed'));
      },
    });
    const err = await rejection(driver.print({ jobId: 'j4', name: 'cut.pdf', document: broken }));
    expect(err.code).toBe('MFP_DEV_ERR_ABORTED');
    expect(await readdir(sftp.dir)).toEqual(before);
  });
});

describe('SMB (Samba, SMB3 with encryption)', () => {
  it('stores a document of known size straight to the share, byte-exact once decrypted', async () => {
    const driver = driverFor(smbDevice());
    const doc = randomBytes(2 * 1024 * 1024 + 5);
    const result = await driver.print({
      jobId: 'j5',
      name: 'invoice.pdf',
      size: doc.length,
      document: documentOf(doc),
    });
    expect(result.deviceJobId).toBe('invoice.pdf.enc');
    expect(sha256(await decrypted(join(samba.dir, 'invoice.pdf.enc')))).toBe(sha256(doc));
  });

  it('stores a document of unknown size through an encrypted spool, left empty afterwards', async () => {
    const driver = driverFor(smbDevice({ id: 'nas-spool' }));
    const doc = randomBytes(700_000);
    const first = await driver.print({ jobId: 'j6', name: 'memo.txt', document: documentOf(doc) });
    const second = await driver.print({ jobId: 'j7', name: 'memo.txt', document: documentOf(doc) });
    expect([first.deviceJobId, second.deviceJobId]).toEqual(['memo.txt.enc', 'memo.txt-1.enc']);
    expect(sha256(await decrypted(join(samba.dir, 'memo.txt.enc')))).toBe(sha256(doc));
    expect(await readdir(join(scratch, 'storage-spool', 'nas-spool'))).toEqual([]);
  });

  it('refuses a document that is not the size the job said, storing nothing', async () => {
    const driver = driverFor(smbDevice());
    const before = await readdir(samba.dir);
    const err = await rejection(
      driver.print({ jobId: 'j8', name: 'short.pdf', size: 5000, document: documentOf(randomBytes(4000)) }),
    );
    expect(err.code).toBe('MFP_DEV_ERR_ABORTED');
    expect(err.message).toContain('4000 bytes where the job said 5000');
    expect(await readdir(samba.dir)).toEqual(before);
  });

  it('names a wrong password as a refused login, in the job error and the device status', async () => {
    const driver = driverFor(smbDevice({ password: 'not-the-password' }));
    const err = await rejection(
      driver.print({ jobId: 'j9', name: 'x.pdf', size: 3, document: documentOf(Buffer.from('abc')) }),
    );
    expect(err.code).toBe('MFP_DEV_ERR_REJECTED');
    expect(err.message).toContain('NT_STATUS_LOGON_FAILURE');
    expect(err.message).not.toContain('not-the-password');
    const status = await driver.status();
    expect(status.state).toBe('offline');
    expect(status.message).toContain('check the device');
  });
});
