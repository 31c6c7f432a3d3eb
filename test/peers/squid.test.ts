/**
 * Proves the Squid test harness behaves like the office proxy we need to survive: Basic-auth
 * CONNECT tunnels to loopback targets, 407 without valid credentials, and idle tunnels killed
 * after the configured idle timeout (but kept while bytes flow). Uses raw `net` sockets only,
 * so it depends on nothing in src/.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { assertSquidInstalled, type SquidHandle, startSquid } from '../support/squid.ts';

const IDLE_TIMEOUT_SEC = 3;
const USERS = { alice: 'correct horse', bob: 'p@ss:w/rd' };

interface EchoServer {
  port: number;
  /** Resolves with the target-side view of the first connection's end. */
  firstConnectionClosed: Promise<CloseInfo>;
  close(): Promise<void>;
}

interface CloseInfo {
  /** 'FIN': orderly end seen before close; 'RST': ECONNRESET; otherwise the error code. */
  how: string;
  at: number;
}

/** Echoes every byte back; with `pushEveryMs`, also writes one byte per interval on its own. */
async function startEchoServer(pushEveryMs?: number): Promise<EchoServer> {
  let resolveFirst: (info: CloseInfo) => void = () => {};
  const firstConnectionClosed = new Promise<CloseInfo>((resolve) => {
    resolveFirst = resolve;
  });
  const sockets = new Set<Socket>();
  let first = true;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    const closed = watchClose(socket);
    if (first) {
      first = false;
      void closed.then(resolveFirst);
    }
    socket.on('data', (chunk) => socket.write(chunk));
    if (pushEveryMs !== undefined) {
      const timer = setInterval(() => socket.write('p'), pushEveryMs);
      socket.once('close', () => clearInterval(timer));
    }
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('echo server has no port');
  return {
    port: address.port,
    firstConnectionClosed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Must be called before the socket can close; resolves on 'close' with how it ended. */
function watchClose(socket: Socket): Promise<CloseInfo> {
  let sawFin = false;
  let errorCode: string | undefined;
  socket.on('end', () => {
    sawFin = true;
  });
  socket.on('error', (err: NodeJS.ErrnoException) => {
    errorCode ??= err.code ?? err.message;
  });
  return new Promise((resolve) => {
    socket.once('close', () => {
      const how = errorCode === 'ECONNRESET' ? 'RST' : (errorCode ?? (sawFin ? 'FIN' : 'closed-locally'));
      resolve({ how, at: Date.now() });
    });
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function waitFor(check: () => Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  return vi.waitFor(
    async () => {
      if (!(await check())) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    },
    { timeout: ms, interval: 50 },
  );
}

interface ConnectResult {
  socket: Socket;
  statusLine: string;
  head: string;
}

/** Sends a raw CONNECT to the proxy and reads the response head (leftover bytes are unshifted). */
async function rawConnect(
  proxy: SquidHandle,
  target: string,
  credentials?: { user: string; password: string },
): Promise<ConnectResult> {
  const socket = connect({ host: proxy.host, port: proxy.port });
  socket.setNoDelay(true);
  const lines = [`CONNECT ${target} HTTP/1.1`, `Host: ${target}`];
  if (credentials) {
    const token = Buffer.from(`${credentials.user}:${credentials.password}`, 'utf8').toString('base64');
    lines.push(`Proxy-Authorization: Basic ${token}`);
  }
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  const head = await withTimeout(
    new Promise<string>((resolve, reject) => {
      let buffered = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        cleanup();
        const rest = buffered.subarray(end + 4);
        if (rest.length > 0) socket.unshift(rest);
        resolve(buffered.subarray(0, end).toString('latin1'));
      };
      const onError = (err: Error) => {
        cleanup();
        reject(err);
      };
      const onClose = () => {
        cleanup();
        reject(new Error(`proxy closed before a response head; got ${JSON.stringify(buffered.toString())}`));
      };
      const cleanup = () => {
        socket.off('data', onData);
        socket.off('error', onError);
        socket.off('close', onClose);
      };
      socket.on('data', onData);
      socket.once('error', onError);
      socket.once('close', onClose);
    }),
    5_000,
    `the proxy's answer to CONNECT ${target}`,
  );
  socket.pause();
  return { socket, statusLine: head.split('\r\n')[0] ?? '', head };
}

/** Writes `payload` and resolves once the same bytes came back. */
function echoRoundTrip(socket: Socket, payload: Buffer): Promise<Buffer> {
  return withTimeout(
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let received = 0;
      const onData = (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (received >= payload.length) {
          socket.off('data', onData);
          socket.off('close', onClose);
          resolve(Buffer.concat(chunks));
        }
      };
      const onClose = () =>
        reject(new Error(`tunnel closed after ${received}/${payload.length} echoed bytes`));
      socket.on('data', onData);
      socket.once('close', onClose);
      socket.resume();
      socket.write(payload);
    }),
    5_000,
    'the echo',
  );
}

async function openTunnel(proxy: SquidHandle, targetPort: number): Promise<Socket> {
  const { socket, statusLine } = await rawConnect(proxy, `127.0.0.1:${targetPort}`, {
    user: 'alice',
    password: USERS.alice,
  });
  expect(statusLine).toMatch(/^HTTP\/1\.[01] 200 /);
  return socket;
}

// An explicit, named failure when squid is missing (CI installs it): never a silent skip.
it('has the Debian squid package installed', () => {
  assertSquidInstalled();
});

describe('squid harness (real Squid as authenticating CONNECT proxy)', () => {
  let squid: SquidHandle;
  let echo: EchoServer;

  beforeAll(async () => {
    // Fails (not skips) when squid is missing: CI installs it.
    assertSquidInstalled();
    [squid, echo] = await Promise.all([
      startSquid({ users: USERS, idleTimeoutSec: IDLE_TIMEOUT_SEC }),
      startEchoServer(),
    ]);
  });

  afterAll(async () => {
    await Promise.all([squid?.stop(), echo?.close()]);
  });

  it('tunnels bytes to a loopback target with the right user and password', async () => {
    const { socket, statusLine } = await rawConnect(squid, `127.0.0.1:${echo.port}`, {
      user: 'bob',
      password: USERS.bob,
    });
    try {
      expect(statusLine).toMatch(/^HTTP\/1\.[01] 200 /);
      const small = Buffer.from('hello through squid\n');
      expect((await echoRoundTrip(socket, small)).equals(small)).toBe(true);
      const big = Buffer.alloc(256 * 1024, 0xa5);
      expect((await echoRoundTrip(socket, big)).equals(big)).toBe(true);
    } finally {
      socket.destroy();
    }
  });

  it('answers 407 with a Basic challenge to a wrong password', async () => {
    const { socket, statusLine, head } = await rawConnect(squid, `127.0.0.1:${echo.port}`, {
      user: 'alice',
      password: 'wrong',
    });
    socket.destroy();
    expect(statusLine).toMatch(/^HTTP\/1\.[01] 407 /);
    expect(head).toMatch(/^Proxy-Authenticate: Basic realm="mfp-gateway-test"/im);
  });

  it('answers 407 to an unknown user', async () => {
    const { socket, statusLine } = await rawConnect(squid, `127.0.0.1:${echo.port}`, {
      user: 'mallory',
      password: USERS.alice,
    });
    socket.destroy();
    expect(statusLine).toMatch(/^HTTP\/1\.[01] 407 /);
  });

  it('answers 407 without credentials', async () => {
    const { socket, statusLine, head } = await rawConnect(squid, `127.0.0.1:${echo.port}`);
    socket.destroy();
    expect(statusLine).toMatch(/^HTTP\/1\.[01] 407 /);
    expect(head).toMatch(/^Proxy-Authenticate: Basic /im);
  });

  it('denies (403) an authenticated CONNECT to anything but 127.0.0.1', async () => {
    const { socket, statusLine } = await rawConnect(squid, `127.0.0.2:${echo.port}`, {
      user: 'alice',
      password: USERS.alice,
    });
    socket.destroy();
    expect(statusLine).toMatch(/^HTTP\/1\.[01] 403 /);
  });

  it('builds proxy URLs with encoded credentials', () => {
    expect(squid.proxyUrl()).toBe(`http://127.0.0.1:${squid.port}`);
    expect(squid.proxyUrl('bob')).toBe(`http://bob:p%40ss%3Aw%2Frd@127.0.0.1:${squid.port}`);
    expect(squid.proxyUrl('alice', 'x y')).toBe(`http://alice:x%20y@127.0.0.1:${squid.port}`);
    expect(() => squid.proxyUrl('nobody')).toThrow(/unknown user/);
  });

  // Squid's read_timeout has whole-second granularity (it is checked once per second against
  // a whole-second clock): measured on Squid 5.7, an idle tunnel closes between T and T+1 s
  // after its last byte, with a FIN to both the client and the target.
  const closesNoSoonerThanMs = (IDLE_TIMEOUT_SEC - 1) * 1000;
  const closesNoLaterThanMs = (IDLE_TIMEOUT_SEC + 2) * 1000;

  describe.concurrent('idle timeout', () => {
    it('closes an idle tunnel (FIN, both sides) after the idle timeout', async ({ expect }) => {
      const target = await startEchoServer();
      try {
        const socket = await openTunnel(squid, target.port);
        const clientClosed = watchClose(socket);
        await echoRoundTrip(socket, Buffer.from('ping'));
        const lastActivity = Date.now();
        const client = await withTimeout(
          clientClosed,
          closesNoLaterThanMs + 3_000,
          'squid to close the tunnel',
        );
        const server = await withTimeout(target.firstConnectionClosed, 2_000, 'the target leg to close');
        const idleMs = client.at - lastActivity;
        expect(idleMs, `closed after ${idleMs} ms idle`).toBeGreaterThanOrEqual(closesNoSoonerThanMs);
        expect(idleMs, `closed after ${idleMs} ms idle`).toBeLessThanOrEqual(closesNoLaterThanMs);
        expect(client.how).toBe('FIN');
        expect(server.how).toBe('FIN');
      } finally {
        await target.close();
      }
    });

    it('closes a tunnel that never carried a byte after the idle timeout', async ({ expect }) => {
      const target = await startEchoServer();
      try {
        const socket = await openTunnel(squid, target.port);
        const established = Date.now();
        const client = await withTimeout(watchClose(socket), closesNoLaterThanMs + 3_000, 'squid to close');
        const idleMs = client.at - established;
        expect(idleMs, `closed after ${idleMs} ms idle`).toBeGreaterThanOrEqual(closesNoSoonerThanMs);
        expect(idleMs, `closed after ${idleMs} ms idle`).toBeLessThanOrEqual(closesNoLaterThanMs);
        expect(client.how).toBe('FIN');
      } finally {
        await target.close();
      }
    });

    it('keeps a tunnel open while the client sends every second, then closes it once idle', async ({
      expect,
    }) => {
      const target = await startEchoServer();
      try {
        const socket = await openTunnel(squid, target.port);
        const clientClosed = watchClose(socket);
        let closedEarly = false;
        void clientClosed.then(() => {
          closedEarly = true;
        });
        const flowForMs = (2 * IDLE_TIMEOUT_SEC + 1) * 1000;
        const start = Date.now();
        let lastActivity = start;
        while (Date.now() - start < flowForMs) {
          await echoRoundTrip(socket, Buffer.from('k'));
          lastActivity = Date.now();
          await Promise.race([clientClosed, new Promise((resolve) => setTimeout(resolve, 1_000))]);
          expect(closedEarly, `tunnel closed ${Date.now() - start} ms into the traffic`).toBe(false);
        }
        const client = await withTimeout(clientClosed, closesNoLaterThanMs + 3_000, 'squid to close');
        const idleMs = client.at - lastActivity;
        expect(idleMs).toBeGreaterThanOrEqual(closesNoSoonerThanMs);
        expect(idleMs).toBeLessThanOrEqual(closesNoLaterThanMs);
      } finally {
        await target.close();
      }
    });

    it('keeps a tunnel open while only the target sends (one-way push)', async ({ expect }) => {
      const target = await startEchoServer(1_000);
      try {
        const socket = await openTunnel(squid, target.port);
        const clientClosed = watchClose(socket);
        let received = 0;
        socket.on('data', (chunk: Buffer) => {
          received += chunk.length;
        });
        socket.resume();
        const outcome = await Promise.race([
          clientClosed.then(() => 'closed'),
          new Promise((resolve) =>
            setTimeout(() => resolve('still-open'), (2 * IDLE_TIMEOUT_SEC + 1) * 1000),
          ),
        ]);
        expect(outcome).toBe('still-open');
        expect(received).toBeGreaterThanOrEqual(2 * IDLE_TIMEOUT_SEC);
        socket.destroy();
      } finally {
        await target.close();
      }
    });
  });
});

describe('squid harness lifecycle', () => {
  it('runs several squids in parallel on distinct ports and cleans up', async () => {
    assertSquidInstalled();
    const target = await startEchoServer();
    const squids = await Promise.all(
      [1, 2, 3].map(() => startSquid({ users: { carol: 'pw' }, idleTimeoutSec: 5 })),
    );
    try {
      expect(new Set(squids.map((s) => s.port)).size).toBe(3);
      for (const s of squids) {
        const { socket, statusLine } = await rawConnect(s, `127.0.0.1:${target.port}`, {
          user: 'carol',
          password: 'pw',
        });
        expect(statusLine).toMatch(/^HTTP\/1\.[01] 200 /);
        const payload = Buffer.from(`via ${s.port}`);
        expect((await echoRoundTrip(socket, payload)).equals(payload)).toBe(true);
        socket.destroy();
      }
      // Squid logs a tunnel when it ends, i.e. shortly after the destroy() above.
      const first = squids[0];
      if (first === undefined) throw new Error('no squid');
      await waitFor(
        async () => /TCP_TUNNEL\/200 .* CONNECT 127\.0\.0\.1:\d+ carol /.test(await first.logs()),
        'the access log',
      );
    } finally {
      await Promise.all(squids.map((s) => s.stop()));
      await target.close();
    }
    // After stop() the port is free again and nothing answers there.
    const port = squids[0]?.port ?? (await freePort());
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });

  it('rejects invalid options before starting squid', async () => {
    assertSquidInstalled();
    await expect(startSquid({ users: { 'bad:name': 'x' }, idleTimeoutSec: 3 })).rejects.toThrow(
      /invalid user name/,
    );
    await expect(startSquid({ users: {}, idleTimeoutSec: 0 })).rejects.toThrow(/idleTimeoutSec/);
  });
});
