import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type DocumentSpool, documentMeter, uploadError } from './document-spool.ts';

/** Job documents on the node's disk, one file per job (written aside, renamed when complete). */
export class FileDocumentSpool implements DocumentSpool {
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  private path(jobId: string): string {
    return join(this.dir, `${jobId}.doc`);
  }

  async receive(body: Readable, jobId: string, maxBytes: number): Promise<{ size: number; sha256: string }> {
    const partial = join(this.dir, `${jobId}.partial`);
    const { meter, size, result } = documentMeter(maxBytes);
    try {
      await pipeline(body, meter, createWriteStream(partial));
      await rename(partial, this.path(jobId));
    } catch (err) {
      await rm(partial, { force: true });
      throw uploadError(err, size());
    }
    return result();
  }

  read(jobId: string, offset: number, chunkBytes = 64 * 1024): Readable {
    return createReadStream(this.path(jobId), { start: offset, highWaterMark: chunkBytes });
  }

  async remove(jobId: string): Promise<void> {
    await rm(this.path(jobId), { force: true });
  }
}
