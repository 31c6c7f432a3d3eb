import { createHash } from 'node:crypto';
import { type Readable, Transform } from 'node:stream';

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
 * Job documents until their job is done: streamed in from the API (never whole in memory),
 * read back from any offset for a resumed tunnel or a device's direct connection. On one
 * node a directory; in a fleet the shared database, so any node can carry any job.
 */
export interface DocumentSpool {
  /** Streams a document in; it is readable under the job's id only once complete. */
  receive(body: Readable, jobId: string, maxBytes: number): Promise<{ size: number; sha256: string }>;
  /** The document from `offset` to its end, in chunks of at most chunkBytes. */
  read(jobId: string, offset: number, chunkBytes?: number): Readable;
  remove(jobId: string): Promise<void>;
}

/** Counts and hashes a document as it streams through, failing past maxBytes. */
export function documentMeter(maxBytes: number): {
  meter: Transform;
  result: () => { size: number; sha256: string };
  size: () => number;
} {
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
  return { meter, size: () => size, result: () => ({ size, sha256: hash.digest('hex') }) };
}

/** The error to throw for a failed upload: a SpoolError as is, anything else as a broken upload. */
export function uploadError(err: unknown, bytes: number): SpoolError {
  if (err instanceof SpoolError) return err;
  return new SpoolError('MFP_JOB_ERR_UPLOAD', `the upload broke off after ${bytes} bytes`, { cause: err });
}
