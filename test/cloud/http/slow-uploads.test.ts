import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UPLOAD_RETRY_AFTER_S } from '../../../src/cloud/api/jobs-api.ts';
import { type CloudServer, startCloudServer } from '../../../src/cloud/cloud-server.ts';
import { parseCloudConfig } from '../../../src/config/cloud-config.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import { RawHttpConnection } from '../../support/raw-http.ts';

const apiToken = 'a'.repeat(32);
let dir: string;
let cloud: CloudServer;
const open: RawHttpConnection[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mfpgw-slow-uploads-'));
  cloud = await startCloudServer(
    parseCloudConfig({
      listen: { host: '127.0.0.1', port: 0, idleTimeout: '1s', minBodyRate: 100 },
      api: { token: apiToken },
      gateways: [{ id: 'gw1', token: 't'.repeat(32) }],
      store: { path: ':memory:' },
      jobs: { spoolDir: join(dir, 'jobs'), maxUploads: 2 },
    }),
    { logger: silentLogger() },
  );
});

afterEach(async () => {
  for (const c of open.splice(0)) c.destroy();
  await cloud.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Starts an upload of `size` bytes and sends only `sent` of them. */
function upload(
  size: number,
  sent: number,
): { conn: RawHttpConnection; answer: ReturnType<RawHttpConnection['exchange']> } {
  const conn = new RawHttpConnection(cloud.port);
  open.push(conn);
  const head = [
    'POST /api/v1/jobs?gateway=gw1&device=mfp&type=print HTTP/1.1',
    'Host: cloud',
    `Authorization: Bearer ${apiToken}`,
    'Content-Type: application/pdf',
    `Content-Length: ${size}`,
    '',
    '',
  ].join('\r\n');
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

  /** Sends `chunks` pieces of `bytes` bytes, one every 150 ms, as one upload; resolves with its answer. */
  async function trickle(chunks: number, bytes: number) {
    const conn = new RawHttpConnection(cloud.port);
    open.push(conn);
    const head = [
      'POST /api/v1/jobs?gateway=gw1&device=mfp&type=print HTTP/1.1',
      'Host: cloud',
      `Authorization: Bearer ${apiToken}`,
      'Content-Type: application/pdf',
      `Content-Length: ${chunks * bytes}`,
      '',
      '',
    ].join('\r\n');
    const answer = conn.exchange(head, { timeoutMs: 20_000 });
    for (let i = 0; i < chunks && conn.open; i++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      conn.write(Buffer.alloc(bytes, i));
    }
    return answer;
  }

  it('lets a slow upload through as long as it keeps the pace (100 B/s here)', async () => {
    // About 330 bytes a second, never silent for the 1 s idle timeout, for about 2 s.
    expect((await trickle(12, 50)).status).toBe(202);
  });

  it('answers a trickle below the pace 408 although it is never silent, and removes its spool file', async () => {
    // About 33 bytes a second: the "one byte every 2 s", faster.
    const answer = await trickle(40, 5);
    expect(answer.status).toBe(408);
    expect(answer.body.toString()).toContain('too slow');
    await vi.waitFor(async () => expect(await spoolFiles()).toEqual([]));
  });
});
