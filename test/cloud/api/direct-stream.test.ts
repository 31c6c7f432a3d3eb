import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { CloudServer } from '../../../src/cloud/cloud-server.ts';
import { startTestCloud } from '../../support/test-cloud.ts';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const token = 'direct-token-0123456789';
const doc = randomBytes(3 * 1024 * 1024 + 123);
const tunnelled = 1000;

let dir: string;
let cloud: CloudServer;
let jobId: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mfpgw-direct-stream-'));
  cloud = await startTestCloud({ jobs: { spoolDir: join(dir, 'jobs') } });
  const { job } = await cloud.jobs.submit(
    {
      type: 'print',
      gatewayId: 'gw1',
      deviceId: 'mfp',
      priority: 0,
      idempotencyKey: null,
      name: null,
      format: null,
    },
    Readable.from([doc]),
  );
  jobId = job.id;
  // As if the job had gone through a tunnel up to `tunnelled` and then been switched.
  await cloud.jobStore.update(
    jobId,
    { state: 'switching', bytesTunnel: tunnelled, directTokenHash: sha256(token) },
    Date.now(),
  );
});

afterEach(async () => {
  await cloud.stop();
  await rm(dir, { recursive: true, force: true });
});

function connect(bearer: string | null = token): WebSocket {
  const headers: Record<string, string> = bearer ? { authorization: `Bearer ${bearer}` } : {};
  return new WebSocket(`ws://127.0.0.1:${cloud.port}/direct/v1/jobs/${jobId}/stream`, { headers });
}

/** Connects and says what the device holds, as a device does once it has taken its job over. */
async function holding(offset: number): Promise<WebSocket> {
  const ws = connect();
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify({ type: 'holding', offset }));
  return ws;
}

function refusedWith(ws: WebSocket): Promise<number> {
  ws.on('error', () => {});
  return new Promise((resolve) =>
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }),
  );
}

/** Everything the cloud sends up to `end`: the binary bytes and the end message. */
function receive(ws: WebSocket): Promise<{ bytes: Buffer; end: Record<string, unknown> }> {
  const parts: Buffer[] = [];
  return new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (data, isBinary) => {
      if (isBinary) parts.push(data as Buffer);
      else resolve({ bytes: Buffer.concat(parts), end: JSON.parse(String(data)) });
    });
  });
}

/** The next text (control) message; document bytes the cloud is still streaming are skipped. */
function next(ws: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onMessage = (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      ws.off('message', onMessage);
      resolve(JSON.parse(String(data)));
    };
    ws.on('message', onMessage);
  });
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

describe('cloud direct stream (push variant of a switched job)', () => {
  it('refuses an upgrade with no token (401) or a wrong one (404), an offset beyond the document with 1008, and changes nothing', async () => {
    expect(await refusedWith(connect(null))).toBe(401);
    expect(await refusedWith(connect('wrong-token-0123456789'))).toBe(404);
    const beyond = await holding(doc.length + 1);
    expect(await closed(beyond)).toBe(1008);
    expect(await cloud.jobStore.get(jobId)).toMatchObject({ state: 'switching', route: [] });
  });

  it('answers 400 to a stream path with a malformed percent-encoding, and serves on (issue 13.2)', async () => {
    const bad = new WebSocket(`ws://127.0.0.1:${cloud.port}/direct/v1/jobs/%E0%A4%A/stream`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(await refusedWith(bad)).toBe(400);
    expect(await refusedWith(connect(null))).toBe(401);
  });

  it('streams the rest from what the device holds, then end; a matching report makes the job done', async () => {
    const ws = await holding(tunnelled);
    const { bytes, end } = await receive(ws);
    expect(bytes.equals(doc.subarray(tunnelled))).toBe(true);
    expect(end).toEqual({ type: 'end', size: doc.length, sha256: sha256(doc) });
    expect(await cloud.jobStore.get(jobId)).toMatchObject({
      state: 'via-direct',
      bytesTunnel: tunnelled,
      route: [expect.objectContaining({ route: 'direct', offset: tunnelled })],
    });

    const closing = closed(ws);
    ws.send(JSON.stringify({ type: 'complete', bytes: doc.length, sha256: sha256(doc), pages: 4 }));
    expect(await next(ws)).toEqual({ type: 'result', state: 'done', error: null });
    expect(await closing).toBe(1000);
    expect(await cloud.jobStore.get(jobId)).toMatchObject({
      state: 'done',
      bytesTunnel: tunnelled,
      bytesDirect: doc.length - tunnelled,
      pages: 4,
      directTokenHash: null,
    });
    // The token was one-time.
    expect(await refusedWith(connect())).toBe(404);
  });

  it('fails the job when the device reports another hash', async () => {
    const ws = await holding(doc.length);
    const { bytes } = await receive(ws);
    expect(bytes.length).toBe(0);
    ws.send(JSON.stringify({ type: 'complete', bytes: doc.length, sha256: sha256('other') }));
    const result = await next(ws);
    expect(result).toMatchObject({ type: 'result', state: 'failed' });
    expect(String(result.error)).toMatch(/the device holds/);
    expect((await cloud.jobStore.get(jobId))?.state).toBe('failed');
  });

  it('fails the job with the device’s error', async () => {
    const ws = connect();
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'error', error: 'paper jam' }));
    expect(await next(ws)).toEqual({ type: 'result', state: 'failed', error: 'device: paper jam' });
    expect((await cloud.jobStore.get(jobId))?.error).toBe('device: paper jam');
  });

  it('closes with 1008 on a malformed message and leaves the job waiting for its device', async () => {
    for (const bad of ['{not json', JSON.stringify({ type: 'complete', bytes: -1 }), Buffer.from('bin')]) {
      const ws = connect();
      await new Promise((r) => ws.once('open', r));
      const closing = closed(ws);
      ws.send(bad);
      expect(await closing).toBe(1008);
      expect(await cloud.jobStore.get(jobId)).toMatchObject({ state: 'switching', error: null });
    }
    const twice = await holding(doc.length);
    const closing = closed(twice);
    twice.send(JSON.stringify({ type: 'holding', offset: doc.length }));
    expect(await closing).toBe(1008);
    // The token still works: the device may try again.
    const ws = await holding(doc.length);
    await receive(ws);
    ws.send(JSON.stringify({ type: 'complete', bytes: doc.length, sha256: sha256(doc) }));
    expect(await next(ws)).toMatchObject({ type: 'result', state: 'done' });
  });
});
