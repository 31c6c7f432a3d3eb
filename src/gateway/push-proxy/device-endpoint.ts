import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Clock } from '../../clock/clock.ts';
import { guardRequest, guardUpgrade } from '../../http/guarded-handler.ts';
import { rejectUpgrade } from '../../http/reject-upgrade.ts';
import type { Logger } from '../../log/logger.ts';
import { decodeFromDevice } from '../../protocol/push-proxy/codec.ts';
import {
  type DeviceToGateway,
  MAX_PROXY_MESSAGE_BYTES,
  PUSH_PROXY_PATH,
  PUSH_PROXY_VERSION,
} from '../../protocol/push-proxy/messages.ts';
import { sameSecret } from '../../protocol/same-secret.ts';
import { sourceKey } from '../../runtime/ip-address.ts';
import { http } from '../../runtime/node-http.ts';
import { DeviceSession } from './device-session.ts';

/** A connection that does not say a valid hello within this time is closed. */
const HELLO_TIMEOUT_MS = 10_000;
/**
 * Connections still to say hello at once, and from one source address. A newcomer past
 * either bound closes the oldest such connection (of that source first) rather than being
 * turned away: a real device says hello at once, so silent sockets cannot keep it out.
 */
export const MAX_UNAUTHENTICATED = 32;
export const MAX_UNAUTHENTICATED_PER_SOURCE = 4;
/** An HTTP request (the upgrade, or a relayed direct request) must have its headers in within this time. */
const HEADERS_TIMEOUT_MS = 10_000;

export type DeviceHello = Extract<DeviceToGateway, { type: 'hello' }>;

export interface DeviceEndpointOptions {
  host: string;
  port: number;
  /** Each proxied device's token, by device id. */
  tokens: ReadonlyMap<string, string>;
  keepaliveMs: number;
  clock: Clock;
  logger: Logger;
  /** Receives each authenticated device session, not yet started. */
  onSession: (session: DeviceSession, hello: DeviceHello) => void;
  /** Plain HTTP requests (the direct relay); false leaves the request to the endpoint (404). */
  onRequest?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/**
 * The LAN side of the push proxy: a WebSocket endpoint where devices say who they are,
 * prove it with their per-device token, and get a session. Anything else is refused
 * with a reason and logged.
 */
export class DeviceEndpoint {
  private readonly options: DeviceEndpointOptions;
  private readonly log: Logger;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PROXY_MESSAGE_BYTES });
  private readonly server: Server;
  /** Sockets still to say hello, oldest first, with their source address. */
  private readonly pending = new Map<WebSocket, string>();
  private refusals = 0;

  constructor(options: DeviceEndpointOptions) {
    this.options = options;
    this.log = options.logger;
    // Guarded: whatever a LAN client sends, an unexpected error is an error answer and a log
    // line, never the end of the daemon (issue 13, finding 6).
    this.server = http.createServer(
      guardRequest(this.log, (req, res) => {
        if (options.onRequest?.(req, res)) return;
        if ((req.url ?? '').split('?')[0] === PUSH_PROXY_PATH) {
          res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
          res.end(`the push proxy speaks WebSocket at ${PUSH_PROXY_PATH} (docs/push-proxy.md)\n`);
          return;
        }
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      }),
    );
    // A connection that never sends its request is closed too, not only one that never says hello.
    this.server.headersTimeout = HEADERS_TIMEOUT_MS;
    this.server.requestTimeout = 5 * HEADERS_TIMEOUT_MS;
    this.server.on(
      'upgrade',
      guardUpgrade(this.log, (req, socket, head) => this.upgrade(req, socket, head)),
    );
  }

  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Connections refused since start (bad token, unknown device, bad hello). */
  get refused(): number {
    return this.refusals;
  }

  /** Stops listening and drops every connection. */
  close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    return closed;
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?')[0];
    if (path !== PUSH_PROXY_PATH) {
      rejectUpgrade(socket, 404, 'Not Found');
      return;
    }
    const remote = req.socket.remoteAddress ?? '';
    // Counted by /64 for IPv6: a host rotating its privacy addresses is one source.
    const source = sourceKey(remote);
    this.makeRoom(source);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.awaitHello(ws, source, remote || null));
  }

  /** Closes the oldest silent connection of this source, or of all, when a bound is reached. */
  private makeRoom(source: string): void {
    const ofSource = [...this.pending].filter(([, from]) => from === source);
    const victim =
      ofSource.length >= MAX_UNAUTHENTICATED_PER_SOURCE
        ? ofSource[0]?.[0]
        : this.pending.size >= MAX_UNAUTHENTICATED
          ? this.pending.keys().next().value
          : undefined;
    if (!victim) return;
    const from = this.pending.get(victim) ?? null;
    this.pending.delete(victim);
    this.refusals++;
    this.log.debug({ from }, 'device connection closed before its hello: a newer one needed the room');
    victim.terminate();
  }

  private awaitHello(ws: WebSocket, source: string, remote: string | null): void {
    const { clock } = this.options;
    this.pending.set(ws, source);
    let waiting = true;
    const done = () => {
      if (!waiting) return;
      waiting = false;
      this.pending.delete(ws);
      clock.clearTimeout(timer);
    };
    const timer = clock.setTimeout(() => {
      done();
      this.refuse(ws, remote, 'MFP_ERR_UNEXPECTED_MESSAGE', 'no hello within 10 s', null);
    }, HELLO_TIMEOUT_MS);
    ws.on('error', () => {});
    ws.once('close', done);
    ws.once('message', (data, isBinary) => {
      done();
      try {
        this.hello(ws, remote, data as Buffer, isBinary);
      } catch (err) {
        // A bug met by some hello ends this connection (logged), never the daemon.
        this.log.error(
          { from: remote, err: (err as Error).message },
          'device hello failed; connection closed',
        );
        ws.close(1011, 'MFP_ERR_INTERNAL');
      }
    });
  }

  private hello(ws: WebSocket, remote: string | null, data: Buffer, isBinary: boolean): void {
    const { clock } = this.options;
    const decoded = decodeFromDevice(data, isBinary);
    if (!decoded.ok || decoded.message.type !== 'hello') {
      const code = decoded.ok ? 'MFP_ERR_UNEXPECTED_MESSAGE' : decoded.error.code;
      const reason = decoded.ok ? `expected hello, got ${decoded.message.type}` : decoded.error.message;
      this.refuse(ws, remote, code, reason, null);
      return;
    }
    const hello = decoded.message;
    if (hello.v !== PUSH_PROXY_VERSION) {
      const reason = `push proxy version ${hello.v} not supported; this gateway speaks ${PUSH_PROXY_VERSION}`;
      this.refuse(ws, remote, 'MFP_ERR_UNSUPPORTED_VERSION', reason, hello.deviceId);
      return;
    }
    const expected = this.options.tokens.get(hello.deviceId);
    if (expected === undefined || !sameSecret(hello.token, expected)) {
      // One message for both: a prober learns nothing about which device ids exist.
      const reason = 'unknown device or wrong token: check the device id and token in pushProxy.devices';
      this.refuse(ws, remote, 'MFP_PXY_ERR_AUTH', reason, hello.deviceId);
      return;
    }
    const session = new DeviceSession({
      ws,
      deviceId: hello.deviceId,
      remoteAddress: remote,
      keepaliveMs: this.options.keepaliveMs,
      clock,
      logger: this.log,
    });
    this.options.onSession(session, hello);
  }

  private refuse(
    ws: WebSocket,
    remote: string | null,
    code: string,
    reason: string,
    deviceId: string | null,
  ) {
    this.refusals++;
    this.log.warn(
      { device: deviceId?.slice(0, 128) ?? null, from: remote, code },
      `device refused: ${reason}`,
    );
    ws.send(JSON.stringify({ type: 'error', code, message: reason }));
    ws.close(1008, code);
  }
}
