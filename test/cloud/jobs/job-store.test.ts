import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/clock/system-clock.ts';
import { SpoolError } from '../../../src/cloud/jobs/document-spool.ts';
import { DOCUMENT_PIECE_BYTES } from '../../../src/cloud/jobs/postgres-document-spool.ts';
import { type CloudStore, openCloudStore } from '../../../src/cloud/store/cloud-store.ts';
import { storeBackends } from '../../support/cloud-stores.ts';
import { newJob } from './new-job.ts';

describe.each(storeBackends())('job store and document spool on $name', ({ fresh }) => {
  let store: CloudStore;
  let dir: string;
  const open = async () => {
    dir = await mkdtemp(join(tmpdir(), 'mfpgw-job-store-'));
    store = await openCloudStore(await fresh(), { documentsDir: dir, clock: systemClock });
    return store;
  };
  afterEach(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('queues by priority then age, and lets one node claim a queued job once', async () => {
    const { jobs } = await open();
    await jobs.insert(newJob('low', { priority: -1, createdAt: 1 }));
    await jobs.insert(newJob('old', { createdAt: 2 }));
    await jobs.insert(newJob('new', { createdAt: 3 }));
    await jobs.insert(newJob('other', { gatewayId: 'gw2' }));
    expect((await jobs.queued('gw1')).map((j) => j.id)).toEqual(['old', 'new', 'low']);

    const claims = await Promise.all([jobs.claim('old', 'node-a', 5), jobs.claim('old', 'node-b', 5)]);
    expect(claims.filter(Boolean).map((j) => j?.node)).toHaveLength(1);
    expect(await jobs.get('old')).toMatchObject({ state: 'via-tunnel', updatedAt: 5 });
    expect(await jobs.claim('old', 'node-a', 6)).toBeUndefined();
    expect((await jobs.queued('gw1')).map((j) => j.id)).toEqual(['new', 'low']);
  });

  it('requeues the jobs of the named nodes, or of every node but the live ones', async () => {
    const { jobs } = await open();
    for (const id of ['a1', 'a2', 'b1', 'c1']) await jobs.insert(newJob(id));
    await jobs.claim('a1', 'node-a', 2);
    await jobs.claim('a2', 'node-a', 2);
    await jobs.claim('b1', 'node-b', 2);
    await jobs.update('a2', { state: 'done', node: null }, 3);
    await jobs.update('b1', { state: 'switching', directTokenHash: 'h' }, 3);

    expect((await jobs.requeue({ of: ['node-a'] }, 4)).map((j) => j.id)).toEqual(['a1']);
    expect(await jobs.get('a1')).toMatchObject({ state: 'queued', node: null, updatedAt: 4 });
    await jobs.claim('a1', 'node-a', 5);
    expect((await jobs.requeue({ allBut: ['node-a', 'node-c'] }, 6)).map((j) => j.id)).toEqual(['b1']);
    expect(await jobs.get('b1')).toMatchObject({ state: 'queued', directTokenHash: null });
    expect((await jobs.get('a1'))?.state).toBe('via-tunnel');
    expect(await jobs.requeue({ allBut: ['node-a'] }, 7)).toEqual([]);
    // A switch whose tunnel already closed (no node): its device holds the token; no node's leaving touches it.
    await jobs.insert(newJob('s1'));
    await jobs.claim('s1', 'node-b', 8);
    await jobs.update('s1', { state: 'switching', directTokenHash: 'h', node: null }, 9);
    expect(await jobs.requeue({ allBut: ['node-a'] }, 10)).toEqual([]);
    expect(await jobs.requeue({ of: ['node-b'] }, 10)).toEqual([]);
    expect(await jobs.get('s1')).toMatchObject({ state: 'switching', directTokenHash: 'h' });
  });

  it('finds by idempotency key, lists newest first, keeps route history, prunes finished jobs', async () => {
    const { jobs } = await open();
    await jobs.insert(newJob('a', { idempotencyKey: 'k1', createdAt: 1 }));
    await jobs.insert(newJob('b', { createdAt: 2 }));
    await expect(jobs.insert(newJob('c', { idempotencyKey: 'k1' }))).rejects.toThrow();
    expect((await jobs.byIdempotencyKey('k1'))?.id).toBe('a');
    expect((await jobs.list({ limit: 10 })).map((j) => j.id)).toEqual(['b', 'a']);
    const route = [{ route: 'tunnel' as const, at: 3, offset: 0, line: 'line-1' }];
    expect((await jobs.update('a', { route, state: 'done', pages: 2 }, 4)).route).toEqual(route);
    expect((await jobs.list({ state: 'done', limit: 10 })).map((j) => j.id)).toEqual(['a']);
    expect((await jobs.unfinished()).map((j) => j.id)).toEqual(['b']);
    expect(await jobs.prune(5)).toEqual(['a']);
    expect(await jobs.get('a')).toBeUndefined();
  });

  it('stores a document and reads it back byte-exact from any offset', async () => {
    const { documents } = await open();
    const doc = randomBytes(2 * DOCUMENT_PIECE_BYTES + 1234);
    const chunks = [
      doc.subarray(0, 1000),
      doc.subarray(1000, DOCUMENT_PIECE_BYTES + 7),
      doc.subarray(DOCUMENT_PIECE_BYTES + 7),
    ];
    expect(await documents.receive(Readable.from(chunks), 'j1', 10 * DOCUMENT_PIECE_BYTES)).toEqual({
      size: doc.length,
      sha256: (await import('node:crypto')).createHash('sha256').update(doc).digest('hex'),
    });
    for (const offset of [
      0,
      1,
      DOCUMENT_PIECE_BYTES - 1,
      DOCUMENT_PIECE_BYTES,
      2 * DOCUMENT_PIECE_BYTES + 1000,
    ]) {
      expect((await buffer(documents.read('j1', offset, 4096))).equals(doc.subarray(offset))).toBe(true);
    }
    expect((await buffer(documents.read('j1', doc.length))).length).toBe(0);

    await documents.receive(Readable.from([]), 'empty', 10);
    expect((await buffer(documents.read('empty', 0))).length).toBe(0);
    await documents.remove('j1');
    await expect(buffer(documents.read('j1', 0))).rejects.toThrow();
  });

  it('refuses a document over the limit and keeps nothing of it, nor of a broken upload', async () => {
    const { documents } = await open();
    const big = Readable.from([randomBytes(DOCUMENT_PIECE_BYTES), randomBytes(DOCUMENT_PIECE_BYTES)]);
    await expect(documents.receive(big, 'big', DOCUMENT_PIECE_BYTES + 1)).rejects.toMatchObject({
      code: 'MFP_JOB_ERR_TOO_LARGE',
    });
    await expect(buffer(documents.read('big', 0))).rejects.toThrow();

    const broken = new Readable({ read() {} });
    broken.push(randomBytes(DOCUMENT_PIECE_BYTES + 10));
    setImmediate(() => broken.destroy(new Error('client went away')));
    const failure = await documents.receive(broken, 'broken', 10 * DOCUMENT_PIECE_BYTES).catch((e) => e);
    expect(failure).toBeInstanceOf(SpoolError);
    expect(failure.code).toBe('MFP_JOB_ERR_UPLOAD');
    await expect(buffer(documents.read('broken', 0))).rejects.toThrow();
  });
});
