import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A document that did not make it into the spool; the API maps it to a status code. */
export class SpoolError extends Error {
  readonly code: 'MFP_JOB_ERR_TOO_LARGE' | 'MFP_JOB_ERR_UPLOAD';
  constructor(code: SpoolError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SpoolError';
    this.code = code;
  }
}

/**
 * Job documents on disk, one file per job: streamed in from the API (never whole in
 * memory), read back from any offset for a resumed tunnel or a device's direct connection.
 */
export class DocumentSpool {
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  private path(jobId: string): string {
    return join(this.dir, `${jobId}.doc`);
  }

  /** Streams a document in; it appears under the job's name only once complete. */
  async receive(body: Readable, jobId: string, maxBytes: number): Promise<{ size: number; sha256: string }> {
    const partial = join(this.dir, `${jobId}.partial`);
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > maxBytes) {
          done(new SpoolError('MFP_JOB_ERR_TOO_LARGE', `the document is larger than ${maxBytes} bytes`));
          return;
        }
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(partial));
      await rename(partial, this.path(jobId));
    } catch (err) {
      await rm(partial, { force: true });
      if (err instanceof SpoolError) throw err;
      throw new SpoolError('MFP_JOB_ERR_UPLOAD', `the upload broke off after ${size} bytes`, { cause: err });
    }
    return { size, sha256: hash.digest('hex') };
  }

  /** The document from `offset` to its end, in chunks of at most chunkBytes. */
  read(jobId: string, offset: number, chunkBytes = 64 * 1024): Readable {
    return createReadStream(this.path(jobId), { start: offset, highWaterMark: chunkBytes });
  }

  async remove(jobId: string): Promise<void> {
    await rm(this.path(jobId), { force: true });
  }
}
