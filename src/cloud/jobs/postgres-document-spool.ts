import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool } from 'pg';
import type { Clock } from '../../clock/clock.ts';
import { type DocumentSpool, documentMeter, uploadError } from './document-spool.ts';

/** Bytes per stored piece: large enough that a 2 GiB document is 8,192 rows, small enough to stream. */
export const DOCUMENT_PIECE_BYTES = 256 * 1024;

/**
 * Job documents in the fleet's PostgreSQL database, in pieces of DOCUMENT_PIECE_BYTES, so
 * the node that carries a job (or a device's direct connection) need not be the node that
 * accepted it, and a job outlives that node. Each piece is written before the next is read
 * from the upload (backpressure), and read back one at a time from any offset.
 */
export class PostgresDocumentSpool implements DocumentSpool {
  private readonly pool: Pool;
  private readonly clock: Clock;

  constructor(pool: Pool, clock: Clock) {
    this.pool = pool;
    this.clock = clock;
  }

  async receive(body: Readable, jobId: string, maxBytes: number): Promise<{ size: number; sha256: string }> {
    const { meter, size, result } = documentMeter(maxBytes);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let seq = 0;
    let writing: Promise<unknown> = Promise.resolve();
    const store = async (piece: Buffer) => {
      await this.pool.query(
        'INSERT INTO job_documents (job_id, seq, data, stored_at) VALUES ($1, $2, $3, $4)',
        [jobId, seq++, piece, this.clock.now()],
      );
    };
    const flush = async (all: boolean) => {
      let joined = Buffer.concat(pending, pendingBytes);
      while (joined.length >= DOCUMENT_PIECE_BYTES || (all && joined.length > 0)) {
        await store(joined.subarray(0, DOCUMENT_PIECE_BYTES));
        joined = joined.subarray(DOCUMENT_PIECE_BYTES);
      }
      pending = joined.length > 0 ? [joined] : [];
      pendingBytes = joined.length;
    };
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes < DOCUMENT_PIECE_BYTES) return done();
        writing = flush(false).then(() => done(), done);
      },
      final(done) {
        // An empty document is one empty piece, so a missing first piece means a missing document.
        writing = flush(true)
          .then(() => (seq === 0 ? store(Buffer.alloc(0)) : undefined))
          .then(() => done(), done);
      },
    });
    try {
      await pipeline(body, meter, sink);
    } catch (err) {
      // A piece may still be on its way to the database when the upload fails.
      await writing;
      await this.remove(jobId).catch(() => {});
      throw uploadError(err, size());
    }
    return result();
  }

  read(jobId: string, offset: number, chunkBytes = 64 * 1024): Readable {
    const pool = this.pool;
    async function* pieces(): AsyncGenerator<Buffer> {
      const first = Math.floor(offset / DOCUMENT_PIECE_BYTES);
      let skip = offset % DOCUMENT_PIECE_BYTES;
      for (let seq = first; ; seq++) {
        const { rows } = await pool.query<{ data: Buffer }>(
          'SELECT data FROM job_documents WHERE job_id = $1 AND seq = $2',
          [jobId, seq],
        );
        const piece = rows[0]?.data;
        if (!piece) {
          if (seq === 0) throw new Error(`no document is stored for job ${jobId}`);
          return;
        }
        for (let at = skip; at < piece.length; at += chunkBytes) yield piece.subarray(at, at + chunkBytes);
        skip = 0;
        if (piece.length < DOCUMENT_PIECE_BYTES) return;
      }
    }
    return Readable.from(pieces(), { objectMode: false, highWaterMark: chunkBytes });
  }

  async remove(jobId: string): Promise<void> {
    await this.pool.query('DELETE FROM job_documents WHERE job_id = $1', [jobId]);
  }
}
