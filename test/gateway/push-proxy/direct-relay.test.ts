import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type IncomingMessage, request } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type NetworkInterfaceInfo, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { DirectRelay } from '../../../src/gateway/push-proxy/direct-relay.ts';
import { PushProxy } from '../../../src/gateway/push-proxy/push-proxy.ts';
import { capturedLogs } from '../../support/captured-logs.ts';
import { FakeCloud } from '../../support/direct-cloud.ts';
import { deferredTeardown } from '../../support/teardown.ts';
import { makeTestCert } from '../../support/tls.ts';
import { readAll, sha256 } from '../../tunnel/mux-pair.ts';

const defer = deferredTeardown();
const TOKEN = 'Bearer one-time-token-of-job-1';

/** A push proxy with no push devices: its LAN listener only relays. Logs are kept for the test. */
async function relayOnly(options: { ca?: Buffer; relayUrl?: string } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'mfpgw-relay-'));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  const { logger, logs } = capturedLogs();
  const clock = new ManualClock();
  const relay = new DirectRelay({
    listenHost: '127.0.0.1',
    relayUrl: options.relayUrl,
    agentFor: () => undefined,
    ca: options.ca,
    clock,
    logger,
    limits: { maxJobs: 2, ttlMs: 60_000 },
  });
  const proxy = new PushProxy({
    settings: {
      listen: { host: '127.0.0.1', port: 0 },
      devices: [],
      ...(options.relayUrl ? { relayUrl: options.relayUrl } : {}),
      lanKeepalive: 60_000,
      ackTimeout: 5000,
      hold: { max: 10, maxBytes: 1_000_000, ttl: 3_600_000 },
    },
    stateDir: dir,
    open: () => {
      throw new Error('no device streams in this test');
    },
    clock,
    logger,
    backoff: { initialMs: 100, maxMs: 1000 },
    relay,
  });
  const refusedBeforeStart = proxy.relay.route('early', 'http://127.0.0.1:1');
  const port = await proxy.start();
  defer(() => proxy.stop());
  const relayed = () => logs.filter((l) => l.msg === 'direct request relayed');
  return { proxy, port, clock, logs, relayed, refusedBeforeStart };
}

async function startCloud(document: Buffer): Promise<{ cloud: FakeCloud; url: string }> {
  const cloud = new FakeCloud(document);
  const url = await cloud.listen();
  defer(() => cloud.close());
  return { cloud, url };
}

/** A request as a device makes it; the response is returned unread. */
function deviceRequest(
  port: number,
  path: string,
  init: { method?: string; body?: string } = {},
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: { authorization: TOKEN } },
      resolve,
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Sends one raw request on a fresh connection; resolves with the status line's code (0: none). */
async function rawStatus(port: number, text: string): Promise<number> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(text));
    let answer = '';
    socket.on('data', (c: Buffer) => {
      answer += c.toString('latin1');
    });
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)));
    socket.on('error', () => {});
  });
}

describe('direct relay on the push proxy listener: hostile request targets (issue 13, finding 6)', () => {
  it('answers `GET //` and other scheme-relative targets instead of ending the process', async () => {
    const { proxy, port } = await relayOnly();
    proxy.relay.route('job-1', 'http://127.0.0.1:1');
    for (const target of [
      '//',
      '//x:y/direct/v1/jobs/job-1/document',
      '//[::1/',
      '//%zz',
      '/direct/v1/jobs/%E0%A4%A/document',
    ]) {
      expect(await rawStatus(port, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`), target).toBe(404);
    }
    expect(
      await rawStatus(port, 'GET /direct/v1/jobs/none/document?offset=%zz HTTP/1.1\r\nHost: x\r\n\r\n'),
    ).toBe(404);
  });
});

describe('direct relay on the push proxy listener: a switched job’s device reaches the cloud through the gateway', () => {
  it('relays the document fetch and the report of a handed-over job, token untouched, and logs each', async () => {
    const document = randomBytes(3 * 1024 * 1024);
    const { cloud, url } = await startCloud(document);
    const { proxy, port, relayed, refusedBeforeStart } = await relayOnly();
    expect(refusedBeforeStart).toEqual({ refused: expect.stringMatching(/listener is not up/) });

    expect(proxy.relay.route('job-1', `${url}/`)).toEqual({ url: `http://127.0.0.1:${port}` });
    const res = await deviceRequest(port, '/direct/v1/jobs/job-1/document?offset=1000');
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-job-size']).toBe(String(document.length));
    expect(res.headers['content-length']).toBe(String(document.length - 1000));
    expect(await readAll(res)).toEqual({
      bytes: document.length - 1000,
      sha256: sha256(document.subarray(1000)),
    });
    const report = JSON.stringify({ bytes: document.length, sha256: sha256(document), pages: 3 });
    const done = await deviceRequest(port, '/direct/v1/jobs/job-1/complete', {
      method: 'POST',
      body: report,
    });
    expect(done.statusCode).toBe(204);

    expect(cloud.requests).toEqual([
      { method: 'GET', url: '/direct/v1/jobs/job-1/document?offset=1000', authorization: TOKEN, body: '' },
      { method: 'POST', url: '/direct/v1/jobs/job-1/complete', authorization: TOKEN, body: report },
    ]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(relayed()).toEqual([
      expect.objectContaining({
        jobId: 'job-1',
        request: 'document',
        offset: 1000,
        status: 200,
        bytesToDevice: document.length - 1000,
      }),
      expect.objectContaining({
        jobId: 'job-1',
        request: 'complete',
        status: 204,
        bytesToCloud: report.length,
      }),
    ]);
    expect(proxy.status().relay).toMatchObject({
      url: `http://127.0.0.1:${port}`,
      jobs: 1,
      requests: 2,
      failed: 0,
      bytesToDevice: document.length - 1000,
      bytesToCloud: report.length,
    });
  });

  it('answers 404 for anything but the two direct requests of a job it handed over, and forgets jobs in time and past its bound', async () => {
    const { cloud, url } = await startCloud(Buffer.alloc(10));
    const { proxy, port, clock } = await relayOnly();
    proxy.relay.route('job-1', url);
    const notFound = [
      '/direct/v1/jobs/job-2/document?offset=0',
      '/direct/v1/jobs/job-1/other',
      '/direct/v1/jobs/job-1/document/../complete',
      '/direct/v1/jobs/%E0%A4%A/document',
      '/api/v1/jobs',
      '/',
    ];
    for (const path of notFound) expect((await deviceRequest(port, path)).statusCode, path).toBe(404);
    const wrongMethod = await deviceRequest(port, '/direct/v1/jobs/job-1/complete');
    expect(wrongMethod.statusCode).toBe(404);
    expect((await deviceRequest(port, '/push-proxy')).statusCode).toBe(426);
    expect(cloud.requests).toEqual([]);

    clock.advance(60_000);
    expect((await deviceRequest(port, '/direct/v1/jobs/job-1/document')).statusCode).toBe(404);
    for (const id of ['job-a', 'job-b', 'job-c']) proxy.relay.route(id, url);
    expect((await deviceRequest(port, '/direct/v1/jobs/job-a/document')).statusCode).toBe(404);
    expect((await deviceRequest(port, '/direct/v1/jobs/job-c/document')).statusCode).toBe(200);
  });

  it('streams the document at the device’s pace: a device that stops reading stops the cloud', async () => {
    const document = randomBytes(64 * 1024 * 1024);
    const { cloud, url } = await startCloud(document);
    let pushed = 0;
    cloud.onGet = (res) => {
      const out = cloud.serve(res, 0);
      const next = () => {
        while (pushed < document.length) {
          const chunk = document.subarray(pushed, pushed + 64 * 1024);
          pushed += chunk.length;
          if (!out.write(chunk)) {
            out.once('drain', next);
            return;
          }
        }
        out.end();
      };
      next();
    };
    const { proxy, port } = await relayOnly();
    proxy.relay.route('job-1', url);
    const res = await deviceRequest(port, '/direct/v1/jobs/job-1/document?offset=0');
    res.pause();
    // A fixed wait, as it proves that the relay does not read ahead of a paused device.
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Only socket buffers sit between a paused device and the cloud: nothing is piled up in the gateway.
    expect(pushed).toBeLessThan(document.length / 2);
    const all = readAll(res);
    res.resume();
    expect(await all).toEqual({ bytes: document.length, sha256: sha256(document) });
  });

  it('verifies the cloud’s TLS certificate, with the configured CA', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mfpgw-relay-tls-'));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    const cert = makeTestCert(dir);
    const server = createHttpsServer(
      { cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) },
      (req, res) => {
        res.writeHead(200, { 'x-job-size': '2', 'content-length': '2' }).end('ok');
        req.resume();
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    defer(() => new Promise((resolve) => server.close(resolve)));
    const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;

    const untrusting = await relayOnly();
    untrusting.proxy.relay.route('job-1', url);
    const refused = await deviceRequest(untrusting.port, '/direct/v1/jobs/job-1/document');
    expect(refused.statusCode).toBe(502);
    refused.resume();
    expect(untrusting.logs.find((l) => l.msg === 'direct request relay failed')).toMatchObject({
      jobId: 'job-1',
      status: 502,
      err: expect.stringMatching(/certificate/),
    });

    const trusting = await relayOnly({ ca: readFileSync(cert.caFile) });
    trusting.proxy.relay.route('job-1', url);
    const ok = await deviceRequest(trusting.port, '/direct/v1/jobs/job-1/document');
    expect(ok.statusCode).toBe(200);
    expect((await readAll(ok)).bytes).toBe(2);
  });

  it('gives devices the configured relayUrl, else the listen address, else the box’s only LAN address', async () => {
    const { proxy } = await relayOnly({ relayUrl: 'http://192.0.2.2:8081/' });
    expect(proxy.relay.route('job-1', 'https://cloud.example.com')).toEqual({ url: 'http://192.0.2.2:8081' });

    const nic = (address: string, internal = false) =>
      ({ address, family: 'IPv4', internal }) as NetworkInterfaceInfo;
    const onWildcard = (interfaces: Record<string, NetworkInterfaceInfo[]>) => {
      const relay = new DirectRelay({
        listenHost: '0.0.0.0',
        relayUrl: undefined,
        agentFor: () => undefined,
        ca: undefined,
        clock: new ManualClock(),
        logger: capturedLogs().logger,
        interfaces: () => interfaces,
      });
      relay.listening(8081);
      return relay.route('job-1', 'https://cloud.example.com');
    };
    expect(onWildcard({ lo: [nic('127.0.0.1', true)], eth0: [nic('192.0.2.2')] })).toEqual({
      url: 'http://192.0.2.2:8081',
    });
    expect(onWildcard({ eth0: [nic('192.0.2.2')], wlan0: [nic('198.51.100.7')] })).toEqual({
      refused: expect.stringMatching(/set pushProxy.relayUrl/),
    });
  });
});
