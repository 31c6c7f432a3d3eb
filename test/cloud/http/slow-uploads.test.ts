import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { UPLOAD_RETRY_AFTER_S } from '../../../src/cloud/api/jobs-api.ts';
import type { CloudServer } from '../../../src/cloud/cloud-server.ts';
import { RawHttpConnection } from '../../support/raw-http.ts';
import { API_TOKEN, startTestCloud } from '../../support/test-cloud.ts';

let dir: string;
let cloud: CloudServer;
const open: RawHttpConnection[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mfpgw-slow-uploads-'));
  cloud = await startTestCloud({
    listen: { idleTimeout: '1s', minBodyRate: 100 },
    jobs: { spoolDir: join(dir, 'jobs'), maxUploads: 2 },
  });
});

afterEach(async () => {
  for (const c of open.splice(0)) c.destroy();
  await cloud.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The request line and headers of a document upload of `size` bytes. */
function uploadHead(size: number): string {
  return [
    'POST /api/v1/jobs?gateway=gw1&device=mfp&type=print HTTP/1.1',
    'Host: cloud',
    `Authorization: Bearer ${API_TOKEN}`,
    'Content-Type: application/pdf',
    `Content-Length: ${size}`,
    '',
    '',
  ].join('\r\n');
}

/** Starts an upload of `size` bytes and sends only `sent` of them. */
function upload(
  size: number,
  sent: number,
): { conn: RawHttpConnection; answer: ReturnType<RawHttpConnection['exchange']> } {
  const conn = new RawHttpConnection(cloud.port);
  open.push(conn);
  const head = uploadHead(size);
  return {
    conn,
    answer: conn.exchange(Buffer.concat([Buffer.from(head), Buffer.alloc(sent, 1)]), { timeoutMs: 20_000 }),
  };
}

const spoolFiles = async () => readdir(join(dir, 'jobs')).catch(() => [] as string[]);

// Issue 13.3: requestTimeout was 0; uploads trickling bytes stayed open for ever, each with a spool file.
describe('slow and stalled uploads', () => {
  it('answers a stalled upload 408, closes it and removes its spool file', async () => {
    const { answer } = upload(100_000, 1000);
    await vi.waitFor(async () => expect((await spoolFiles()).some((f) => f.endsWith('.partial'))).toBe(true));
    const res = await answer;
    expect(res.status).toBe(408);
    expect(res.closed).toBe(true);
    await vi.waitFor(async () => expect(await spoolFiles()).toEqual([]));
    expect(await cloud.jobStore.list({ limit: 10 })).toEqual([]);
  });

  it('answers headers that never end 408', async () => {
    const socket = connect(cloud.port, '127.0.0.1');
    socket.write('GET /health HTTP/1.1\r\nHost: cloud\r\nX-Slow: ');
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
    });
    await new Promise((resolve) => socket.once('close', resolve));
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes a connection that never sends a byte', async () => {
    const socket = connect(cloud.port, '127.0.0.1');
    socket.on('data', () => {});
    await new Promise((resolve) => socket.once('close', resolve));
  });

  it('refuses an upload beyond maxUploads with 503 and Retry-After, and takes one again once a slot is free', async () => {
    const first = upload(100_000, 10);
    const second = upload(100_000, 10);
    await vi.waitFor(async () => expect((await spoolFiles()).length).toBe(2));
    const third = await upload(100_000, 10).answer;
    expect(third.status).toBe(503);
    expect(third.headers['retry-after']).toBe(String(UPLOAD_RETRY_AFTER_S));
    expect((await first.answer).status).toBe(408);
    expect((await second.answer).status).toBe(408);
    // The slots free once the stalled uploads' spool files are gone.
    await vi.waitFor(async () => expect((await upload(5000, 5000).answer).status).toBe(202));
  });
});

// The pace is checked on the cloud's clock: a manual one makes the windows exact, so the test
// does not hang on the machine's speed. The idle timeout (real time) is long here.
describe('uploads below the pace (listen.minBodyRate)', () => {
  let paced: CloudServer;
  let clock: ManualClock;
  let pacedDir: string;

  beforeEach(async () => {
    pacedDir = await mkdtemp(join(tmpdir(), 'mfpgw-paced-uploads-'));
    clock = new ManualClock();
    paced = await startTestCloud(
      { listen: { idleTimeout: '1m', minBodyRate: 100 }, jobs: { spoolDir: join(pacedDir, 'jobs') } },
      { clock },
    );
  });

  afterEach(async () => {
    await paced.stop();
    await rm(pacedDir, { recursive: true, force: true });
  });

  /** Starts an upload of `size` bytes; `send` adds to its body. */
  async function startUpload(size: number) {
    const conn = new RawHttpConnection(paced.port);
    open.push(conn);
    const head = `${uploadHead(size)}1234`;
    const answer = conn.exchange(head, { timeoutMs: 30_000 });
    const files = () => readdir(join(pacedDir, 'jobs')).catch(() => [] as string[]);
    // The upload is under way once its spool file exists (the pace window is armed before).
    await vi.waitFor(async () => expect((await files()).length).toBe(1));
    const partial = join(pacedDir, 'jobs', (await files())[0] as string);
    /** Sends bytes and waits until the cloud has them (in its spool file), so a window counts them. */
    const send = async (bytes: Buffer) => {
      const before = (await stat(partial)).size;
      conn.write(bytes);
      await vi.waitFor(async () => expect((await stat(partial)).size).toBe(before + bytes.length));
    };
    return { answer, files, send, finish: (bytes: Buffer) => conn.write(bytes) };
  }

  it('lets an upload that keeps the pace through, window after window', async () => {
    // 100 B/s over a 1 min window: 6,000 bytes a window.
    const { answer, send, finish } = await startUpload(4 + 3 * 7000 + 1);
    for (let i = 0; i < 3; i++) {
      await send(Buffer.alloc(7000, i));
      clock.advance(60_000);
    }
    finish(Buffer.alloc(1));
    expect((await answer).status).toBe(202);
  });

  it('answers a trickle 408 although it is never silent, and removes its spool file', async () => {
    const { answer, files, send } = await startUpload(100_000);
    await send(Buffer.alloc(7000, 1));
    clock.advance(60_000);
    await send(Buffer.alloc(100, 2));
    clock.advance(60_000);
    const res = await answer;
    expect(res.status).toBe(408);
    expect(res.body.toString()).toContain('too slow');
    await vi.waitFor(async () => expect(await files()).toEqual([]));
  });
});
