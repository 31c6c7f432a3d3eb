import { createHash, randomBytes } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { access, mkdir, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Clock } from '../../clock/clock.ts';
import { writeEncryptedFile } from '../../storage/secure-file.ts';
import {
  assertStorageKey,
  LENGTH_OFFSET,
  lengthField,
  measured,
  SecureFileError,
  sealed,
  storageNameProblem,
  storedNames,
} from '../../storage/secure-format.ts';
import type { DeviceDriver, DeviceStatus, PrintJob, PrintResult } from '../device-driver.ts';
import { asDeviceError, DeviceError } from '../device-error.ts';
import { StatusTracker } from '../status-tracker.ts';
import type { RemoteShare } from './remote-share.ts';

export interface StorageDriverOptions {
  id: string;
  /** Where encrypted files are stored: a directory (a NAS share mounted on the gateway) or a file server. */
  target: { directory: string } | { share: RemoteShare; spoolDirectory: string };
  /** The site's AES-256 storage key (32 bytes). */
  key: Buffer;
  clock: Clock;
}

/**
 * A NAS-like "device" for secure-storage jobs: each job's document is encrypted with the site's
 * storage key on the gateway and stored whole, or not at all, as `<name>.enc` in a directory or
 * on a file server (SFTP, SMB) (docs/secure-storage.md). The job is complete once the file is
 * in place under its final name. Plaintext never leaves the gateway nor touches its disk.
 */
export class StorageDriver implements DeviceDriver {
  readonly id: string;
  private readonly options: StorageDriverOptions;
  private readonly tracker: StatusTracker;
  /** Aborts every running store when the driver closes. */
  private readonly closing = new AbortController();
  private running = 0;

  constructor(options: StorageDriverOptions) {
    assertStorageKey(options.key);
    this.id = options.id;
    this.options = options;
    this.tracker = new StatusTracker(options.clock);
  }

  async print(job: PrintJob, signal?: AbortSignal): Promise<PrintResult> {
    this.assertOpen();
    const name = storedName(job);
    if (name === undefined) {
      throw new DeviceError(
        'MFP_DEV_ERR_REJECTED',
        this.id,
        `job ${JSON.stringify(job.jobId)} has neither a name nor an id usable as a file name`,
      );
    }
    const abort = signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
    this.running++;
    try {
      const target = this.options.target;
      const stored =
        'directory' in target
          ? await writeEncryptedFile(job.document, target.directory, name, this.options.key, abort)
          : await this.storeOnShare(job, name, target, abort);
      return {
        deviceJobId: basename(stored.path),
        bytesSent: stored.bytes,
        completedAt: this.options.clock.now(),
      };
    } catch (err) {
      throw this.asDeviceError(err);
    } finally {
      this.running--;
    }
  }

  async status(): Promise<DeviceStatus> {
    this.assertOpen();
    const target = this.options.target;
    if ('share' in target) {
      const problem = await target.share.problem(
        AbortSignal.any([this.closing.signal, AbortSignal.timeout(30_000)]),
      );
      if (problem !== undefined) return this.offline(problem);
      return this.tracker.observe({ state: this.running > 0 ? 'printing' : 'idle', reasons: [] });
    }
    const { directory } = target;
    try {
      if (!(await stat(directory)).isDirectory()) {
        return this.offline(`${directory} is not a directory; check the device's directory setting`);
      }
      await access(directory, constants.W_OK | constants.X_OK);
    } catch (err) {
      return this.offline(
        `cannot store in ${directory} (${(err as Error).message}); check that the share is mounted and writable`,
      );
    }
    return this.tracker.observe({ state: this.running > 0 ? 'printing' : 'idle', reasons: [] });
  }

  async close(): Promise<void> {
    this.closing.abort();
  }

  /**
   * Seals the document as it streams and hands it to the share. A share that cannot write at an
   * offset gets the length in the header up front: from the job's size, or, when the cloud did
   * not say it, by sealing into an encrypted spool file on the gateway first.
   */
  private async storeOnShare(
    job: PrintJob,
    name: string,
    target: { share: RemoteShare; spoolDirectory: string },
    signal: AbortSignal,
  ): Promise<{ path: string; bytes: number }> {
    const { share } = target;
    const key = this.options.key;
    const tempName = `.${name}.partial-${randomBytes(6).toString('hex')}`;
    if (!share.canPatch && job.size === undefined) {
      await mkdir(target.spoolDirectory, { recursive: true, mode: 0o700 });
      const spooled = await writeEncryptedFile(
        job.document,
        target.spoolDirectory,
        tempName.slice(1),
        key,
        signal,
      );
      try {
        const stored = await share.store(
          { bytes: createReadStream(spooled.path), tempName, names: storedNames(name) },
          signal,
        );
        return { path: stored, bytes: spooled.bytes };
      } finally {
        await rm(spooled.path, { force: true });
      }
    }
    const tally = { bytes: 0, hash: createHash('sha256') };
    const declared = share.canPatch ? undefined : job.size;
    const plaintext = checkedLength(measured(job.document, tally), tally, declared);
    try {
      const stored = await share.store(
        {
          bytes: sealed(plaintext, key, declared),
          tempName,
          names: storedNames(name),
          ...(declared === undefined
            ? { patch: () => ({ at: LENGTH_OFFSET, data: lengthField(tally.bytes) }) }
            : {}),
        },
        signal,
      );
      return { path: stored, bytes: tally.bytes };
    } catch (err) {
      job.document.destroy();
      throw err;
    }
  }

  private offline(message: string): DeviceStatus {
    return this.tracker.observe({ state: 'offline', reasons: ['offline'], message });
  }

  private asDeviceError(err: unknown): DeviceError {
    if (!(err instanceof SecureFileError)) return asDeviceError(err, this.id, 'storing failed');
    switch (err.code) {
      case 'MFP_STORE_ERR_ABORTED':
        return this.closing.signal.aborted
          ? new DeviceError('MFP_DEV_ERR_CLOSED', this.id, `driver closed while storing: ${err.message}`, {
              cause: err,
            })
          : new DeviceError('MFP_DEV_ERR_ABORTED', this.id, err.message, { cause: err });
      case 'MFP_STORE_ERR_SOURCE':
        return new DeviceError('MFP_DEV_ERR_ABORTED', this.id, err.message, { cause: err });
      case 'MFP_STORE_ERR_IO':
        return new DeviceError(
          'MFP_DEV_ERR_UNREACHABLE',
          this.id,
          'share' in this.options.target
            ? err.message
            : `${err.message}; check that the share is mounted and writable`,
          { cause: err },
        );
      default:
        return new DeviceError('MFP_DEV_ERR_REJECTED', this.id, err.message, { cause: err });
    }
  }

  private assertOpen(): void {
    if (this.closing.signal.aborted) throw new DeviceError('MFP_DEV_ERR_CLOSED', this.id, 'driver closed');
  }
}

/** Passes the plaintext on, failing before its end when it is not the length the header declared. */
async function* checkedLength(
  plaintext: AsyncIterable<Buffer>,
  tally: { bytes: number },
  declared: number | undefined,
): AsyncGenerator<Buffer> {
  for await (const chunk of plaintext) {
    if (declared !== undefined && tally.bytes > declared) break;
    yield chunk;
  }
  if (declared !== undefined && tally.bytes !== declared) {
    throw new SecureFileError(
      'MFP_STORE_ERR_SOURCE',
      `the document has ${tally.bytes} bytes where the job said ${declared}; nothing was stored — send it again`,
    );
  }
}

/** The job's name without any client-side folders, else its id; undefined when neither is a safe file name. */
function storedName(job: PrintJob): string | undefined {
  const fromName = job.name?.split(/[/\\]/).pop()?.trim();
  return [fromName, job.jobId].find((n) => n !== undefined && storageNameProblem(n) === undefined);
}
