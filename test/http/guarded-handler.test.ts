import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  guardListener,
  guardRequest,
  guardUpgrade,
  loggableTarget,
  statusForError,
} from '../../src/http/guarded-handler.ts';
import { capturedLogs } from '../support/captured-logs.ts';

let server: Server | null = null;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = null;
});

/** Sends raw bytes and reads the answer until the server closes or answers fully. */
async function raw(port: number, request: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.write(request);
  let text = '';
  socket.on('data', (chunk) => {
    text += chunk.toString('latin1');
  });
  await Promise.race([once(socket, 'close'), once(socket, 'end')]);
  socket.destroy();
  return text;
}

async function listen(s: Server): Promise<number> {
  server = s;
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return (s.address() as AddressInfo).port;
}

describe('guardRequest', () => {
  it('answers 400 for a URIError thrown by the handler and logs it, the server stays up', async () => {
    const { logger, logs } = capturedLogs();
    const port = await listen(
      createServer(
        guardRequest(logger, (req, res) => {
          res.end(decodeURIComponent(req.url ?? ''));
        }),
      ),
    );
    const answer = await raw(port, 'GET /%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(logs.some((l) => l.status === 400 && l.target === '/%E0%A4%A')).toBe(true);
    expect(await raw(port, 'GET /fine HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(
      /^HTTP\/1\.1 200 /,
    );
  });

  it('answers 500 for a rejected promise', async () => {
    const { logger, logs } = capturedLogs();
    const port = await listen(
      createServer(
        guardRequest(logger, async () => {
          throw new Error('boom');
        }),
      ),
    );
    expect(await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(
      /^HTTP\/1\.1 500 /,
    );
    expect(logs.some((l) => l.err === 'boom' && l.level === 50)).toBe(true);
  });

  it('closes the connection when the answer had already begun', async () => {
    const { logger } = capturedLogs();
    const port = await listen(
      createServer(
        guardRequest(logger, async (_req, res) => {
          res.writeHead(200, { 'content-length': '10' });
          res.write('abc');
          throw new Error('midway');
        }),
      ),
    );
    const answer = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer.endsWith('abc')).toBe(true);
  });
});

describe('guardUpgrade', () => {
  it('answers a bare 400 on the socket for a URIError and keeps serving', async () => {
    const { logger, logs } = capturedLogs();
    const s = createServer();
    s.on(
      'upgrade',
      guardUpgrade(logger, (req) => {
        decodeURIComponent(req.url ?? '');
        throw new Error('not reached for bad encodings');
      }),
    );
    const port = await listen(s);
    const upgrade = (path: string) =>
      `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`;
    expect(await raw(port, upgrade('/direct/v1/jobs/%E0%A4%A/stream'))).toMatch(/^HTTP\/1\.1 400 /);
    expect(await raw(port, upgrade('/fine'))).toMatch(/^HTTP\/1\.1 500 /);
    expect(logs.filter((l) => typeof l.status === 'number')).toHaveLength(2);
  });

  it('answers a rejected promise with 500', async () => {
    const { logger } = capturedLogs();
    const s = createServer();
    s.on(
      'upgrade',
      guardUpgrade(logger, async () => {
        throw Object.assign(new Error('busy'), { status: 503 });
      }),
    );
    const port = await listen(s);
    expect(
      await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'),
    ).toMatch(/^HTTP\/1\.1 503 /);
  });
});

describe('statusForError and loggableTarget', () => {
  it('maps errors to statuses', () => {
    expect(statusForError(new URIError('x'))).toBe(400);
    expect(statusForError(Object.assign(new TypeError('x'), { code: 'ERR_INVALID_URL' }))).toBe(400);
    expect(statusForError(Object.assign(new Error('x'), { statusCode: 413 }))).toBe(413);
    expect(statusForError(Object.assign(new Error('x'), { status: 200 }))).toBe(500);
    expect(statusForError('text')).toBe(500);
    expect(statusForError(null)).toBe(500);
  });

  it('bounds and escapes what it logs of a target', () => {
    expect(loggableTarget('/a\r\nb')).toBe('/a\\x0d\\x0ab');
    expect(loggableTarget('x'.repeat(1000))).toHaveLength(200);
    expect(loggableTarget(undefined)).toBe('');
  });
});

describe('guardListener', () => {
  it('logs a throw or a rejection and ends only that connection', async () => {
    const { logger, logs } = capturedLogs();
    const ended: unknown[] = [];
    const sync = guardListener(
      logger,
      'handling a message',
      (err) => ended.push(err),
      (n: number) => {
        if (n > 1) throw new Error(`bad ${n}`);
      },
    );
    sync(1);
    sync(2);
    const async = guardListener(
      logger,
      'handling a message',
      (err) => ended.push(err),
      async () => {
        throw new Error('later');
      },
    );
    async();
    await new Promise((resolve) => setImmediate(resolve));
    expect(ended.map((e) => (e as Error).message)).toEqual(['bad 2', 'later']);
    expect(logs.filter((l) => l.msg === 'handling a message failed')).toHaveLength(2);
  });
});
