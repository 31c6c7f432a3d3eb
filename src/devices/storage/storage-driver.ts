import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Clock } from '../../clock/clock.ts';
import { writeEncryptedFile } from '../../storage/secure-file.ts';
import { assertStorageKey, SecureFileError, storageNameProblem } from '../../storage/secure-format.ts';
import type { DeviceDriver, DeviceStatus, PrintJob, PrintResult } from '../device-driver.ts';
import { asDeviceError, DeviceError } from '../device-error.ts';
import { StatusTracker } from '../status-tracker.ts';

export interface StorageDriverOptions {
  id: string;
  /** Where encrypted files are stored, typically a NAS share mounted on the gateway. */
  directory: string;
  /** The site's AES-256 storage key (32 bytes). */
  key: Buffer;
  clock: Clock;
}

/**
 * A NAS-like "device" for secure-storage jobs: each job's document is encrypted with the site's
 * storage key and stored whole, or not at all, as `<name>.enc` in the directory
 * (docs/secure-storage.md). The job is complete once the file is fsynced and in place.
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
      const stored = await writeEncryptedFile(
        job.document,
        this.options.directory,
        name,
        this.options.key,
        abort,
      );
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
    const { directory } = this.options;
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
          `${err.message}; check that the share is mounted and writable`,
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

/** The job's name without any client-side folders, else its id; undefined when neither is a safe file name. */
function storedName(job: PrintJob): string | undefined {
  const fromName = job.name?.split(/[/\\]/).pop()?.trim();
  return [fromName, job.jobId].find((n) => n !== undefined && storageNameProblem(n) === undefined);
}
