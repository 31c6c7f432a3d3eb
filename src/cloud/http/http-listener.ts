import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { guardUpgrade, loggableTarget } from '../../http/guarded-handler.ts';
import { limitRequestIdle } from '../../http/request-idle.ts';
import type { Feature } from '../../lifecycle/feature.ts';
import type { CloudContext } from '../cloud-context.ts';

/** How long an idle keep-alive connection stays open. */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;

/** A WebSocket endpoint on the cloud's port. */
export interface UpgradeEndpoint {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes every socket it serves (the cloud is stopping). */
  closeAll(): void;
}

/**
 * The cloud's one HTTP(S) port: the Fastify app every API registers its routes on before
 * start, and the WebSocket endpoints, each taking the upgrades whose path it claims. Starting
 * listens; the URL is known from then on.
 */
export class HttpListener implements Feature {
  readonly name = 'http';
  readonly app: FastifyInstance;
  private readonly ctx: CloudContext;
  private readonly tls: boolean;
  private readonly endpoints: { claims: (path: string | undefined) => boolean; endpoint: UpgradeEndpoint }[] =
    [];
  private address: { url: string; port: number } | null = null;

  constructor(ctx: CloudContext) {
    this.ctx = ctx;
    const { tls } = ctx.config;
    const https = tls ? { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } : null;
    this.tls = https !== null;
    const idleMs = ctx.config.listen.idleTimeout;
    // Fastify leaves Node's request timeouts off; headers that stall are answered 408 by Node,
    // checked often enough to honour a short idleTimeout.
    const timeouts = {
      headersTimeout: idleMs,
      requestTimeout: 0,
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.round(idleMs / 4))),
    };
    const serverFactory = (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
      const server = https
        ? createHttpsServer({ ...https, ...timeouts }, handler)
        : createHttpServer(timeouts, handler);
      // An idle keep-alive connection is closed after this (Node's default, said aloud).
      server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
      return server;
    };
    this.app = Fastify({ logger: false, serverFactory }) as unknown as FastifyInstance;
    const log = ctx.logger.child({ part: 'http' });
    // A body that stalls or trickles (a slow upload holding a spool file) ends with 408 (issue 13.3).
    const pace = {
      minBytesPerWindow: Math.ceil((ctx.config.listen.minBodyRate * idleMs) / 1000),
      timers: ctx.clock,
    };
    this.app.addHook('onRequest', async (req, reply) => {
      limitRequestIdle(
        req.raw,
        reply.raw,
        idleMs,
        (why) => {
          log.info(
            { method: req.method, target: loggableTarget(req.url), why },
            'request body too slow; 408',
          );
          reply.hijack();
        },
        pace,
      );
    });
    this.app.server.on(
      'upgrade',
      guardUpgrade(log, (req, socket, head) => {
        const route = this.endpoints.find((e) => e.claims(req.url));
        if (route) route.endpoint.handleUpgrade(req, socket, head);
        else socket.destroy();
      }),
    );
    // Fastify answers a route's unexpected error with 500 itself; the log line is ours (its logger is off).
    this.app.addHook('onError', async (req, _reply, err) => {
      const status = typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500;
      if (status < 500) return;
      log.error(
        { method: req.method, target: loggableTarget(req.url), status, err: err.message, stack: err.stack },
        'request failed',
      );
    });
  }

  /** Sends the WebSocket upgrades whose path `claims` accepts to `endpoint` (the first claim wins). */
  upgrade(claims: (path: string | undefined) => boolean, endpoint: UpgradeEndpoint): void {
    this.endpoints.push({ claims, endpoint });
  }

  /** The base URL the cloud listens on (scheme, address, port); only once started. */
  get url(): string {
    return this.listening().url;
  }

  get port(): number {
    return this.listening().port;
  }

  async start(): Promise<void> {
    const { listen } = this.ctx.config;
    await this.app.listen({ host: listen.host, port: listen.port });
    const address = this.app.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.address = { url: `${this.tls ? 'https' : 'http'}://${host}:${address.port}`, port: address.port };
  }

  /** Closes the WebSocket endpoints' sockets, then the port. */
  async stop(): Promise<void> {
    for (const { endpoint } of this.endpoints) endpoint.closeAll();
    await this.app.close();
  }

  private listening(): { url: string; port: number } {
    if (!this.address) throw new Error('the cloud does not listen yet');
    return this.address;
  }
}
