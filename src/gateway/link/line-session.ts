import type { Agent } from 'node:http';
import WebSocket from 'ws';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import { decodeFromCloud, encodeMessage } from '../../protocol/codec.ts';
import type { CloudToGateway, GatewayToCloud, Hello, Welcome } from '../../protocol/messages.ts';
import type { MemoryBudget } from '../../tunnel/memory-budget.ts';
import { type StreamRequest, TUNNEL_LINE_MAX_MESSAGE, TunnelMux } from '../../tunnel/tunnel-mux.ts';
import { type WsTunnelTransport, wsTunnelTransport } from '../../tunnel/ws-transport.ts';

/** Why a session could not be opened; `kind` decides how long to wait before retrying. */
export interface SessionFailure {
  kind: 'auth' | 'proxy-auth' | 'http' | 'tls' | 'network' | 'protocol';
  message: string;
  status?: number;
}

const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Turns an HTTP status or a socket error of the upgrade into a failure a person can act on. */
export function classifyFailure(input: { status?: number; error?: NodeJS.ErrnoException }): SessionFailure {
  const { status, error } = input;
  if (status === 401 || status === 403) {
    return {
      kind: 'auth',
      status,
      message: `the cloud refused this gateway's credentials (HTTP ${status}): check gateway.id and cloud.token`,
    };
  }
  if (status === 407) {
    return {
      kind: 'proxy-auth',
      status,
      message:
        'the HTTP proxy refused our credentials (HTTP 407): check the user and password in cloud.proxy or HTTPS_PROXY',
    };
  }
  if (status !== undefined)
    return { kind: 'http', status, message: `the cloud answered the upgrade with HTTP ${status}` };
  const code = error?.code ?? '';
  if (TLS_CODES.has(code)) {
    return {
      kind: 'tls',
      message: `TLS verification of the cloud failed (${code}): if the cloud uses a private CA, set cloud.caFile`,
    };
  }
  return { kind: 'network', message: error?.message ?? 'connection failed' };
}

export interface LineSessionOptions {
  url: string;
  headers: Record<string, string>;
  agent?: Agent;
  ca?: Buffer;
  clock: Clock;
  hello: Hello;
  openTimeoutMs: number;
  /** Decides on each tunnel the cloud opens on this session (none: every OPEN is refused). */
  onTunnel?: (request: StreamRequest) => void;
  /** What the cloud may make the gateway buffer, shared by all its lines. */
  tunnelBudget?: MemoryBudget;
}

/** How an open session ended. */
export interface SessionEnd {
  code: number;
  reason: string;
}

/**
 * One WebSocket session of a push line: opens, says hello, waits for welcome, then
 * carries control messages. Tracks the time of the last byte either way: the date for
 * status pages, the monotonic time for ages and idle gaps (a wall-clock jump is no idle time).
 */
export class LineSession {
  /** When the connection opened, on the monotonic clock (Clock.monotonic), ms. */
  openedAt = 0;
  /** When the last byte crossed, ms since the epoch (for display). */
  lastTrafficAt = 0;
  /** When the last byte crossed, on the monotonic clock, ms. */
  lastTrafficMono = 0;
  onMessage: (message: CloudToGateway) => void = () => {};
  onEnd: (end: SessionEnd) => void = () => {};
  onInvalid: (code: string, message: string) => void = () => {};
  /** Tunnel frames arrived (after the welcome): traffic that proves the line alive. */
  onTunnelFrames: () => void = () => {};
  /** Tunnels multiplexed on this session, from welcome on. */
  tunnels: TunnelMux | undefined;
  /** The multiplexer's side of the socket, handed the binary messages this session's listener hears. */
  private tunnelTransport: WsTunnelTransport | undefined;
  private ws: WebSocket | undefined;
  private ended = false;
  private readonly options: LineSessionOptions;

  constructor(options: LineSessionOptions) {
    this.options = options;
  }

  /** Connects and completes hello/welcome; rejects with a SessionFailure. */
  open(): Promise<Welcome> {
    const { clock } = this.options;
    return new Promise((resolve, reject) => {
      let settled = false;
      let timer: TimerHandle | undefined;
      const fail = (failure: SessionFailure) => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(timer);
        this.ended = true;
        ws.removeAllListeners('message');
        ws.terminate();
        reject(failure);
      };
      const ws = new WebSocket(this.options.url, {
        headers: this.options.headers,
        agent: this.options.agent,
        ca: this.options.ca,
        // Binary tunnel messages are larger than control frames; the codec enforces the control limit.
        maxPayload: TUNNEL_LINE_MAX_MESSAGE,
        perMessageDeflate: false,
        followRedirects: false,
      });
      this.ws = ws;
      timer = clock.setTimeout(
        () =>
          fail({
            kind: 'network',
            message: `no welcome from the cloud within ${this.options.openTimeoutMs} ms`,
          }),
        this.options.openTimeoutMs,
      );
      ws.on('unexpected-response', (req, res) => {
        req.destroy();
        fail(classifyFailure({ status: res.statusCode }));
      });
      ws.on('error', (err) => {
        if (!settled) fail(classifyFailure({ error: err as NodeJS.ErrnoException }));
      });
      ws.on('open', () => {
        this.openedAt = clock.monotonic();
        this.send(this.options.hello);
      });
      ws.on('close', (code, reason) => {
        if (!settled) {
          fail({
            kind: 'protocol',
            message: `the cloud closed the line during hello (${code} ${reason.toString()})`,
          });
          return;
        }
        this.finish({ code, reason: reason.toString() });
      });
      ws.on('message', (data, isBinary) => {
        this.noteTraffic();
        if (isBinary) {
          // Tunnel frames: the line's keep-alive hears of them, then the mux reads them.
          if (settled) {
            this.onTunnelFrames();
            this.tunnelTransport?.feed(data);
          }
          return;
        }
        const decoded = decodeFromCloud(data as Buffer, isBinary);
        if (!decoded.ok) {
          if (!settled) fail({ kind: 'protocol', message: decoded.error.message });
          else this.onInvalid(decoded.error.code, decoded.error.message);
          return;
        }
        const message = decoded.message;
        if (!settled) {
          if (message.type === 'welcome') {
            settled = true;
            clock.clearTimeout(timer);
            // Fed by the listener above: one 'message' listener per line, not two.
            this.tunnelTransport = wsTunnelTransport(ws, { fed: true });
            this.tunnels = new TunnelMux({
              transport: this.tunnelTransport,
              clock,
              side: 'client',
              budget: this.options.tunnelBudget,
            });
            if (this.options.onTunnel) this.tunnels.onStream(this.options.onTunnel);
            resolve(message);
          } else if (message.type === 'error') {
            fail({
              kind: 'protocol',
              message: `the cloud refused the hello: ${message.code}: ${message.message}`,
            });
          }
          return;
        }
        this.onMessage(message);
      });
    });
  }

  /** Sends a control message; false when the session is gone. */
  send(message: GatewayToCloud): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.noteTraffic();
    this.ws.send(encodeMessage(message));
    return true;
  }

  /** Closes politely (the path is believed alive). */
  close(code = 1000, reason = ''): void {
    if (this.ended) return;
    this.ws?.close(code, reason);
    this.finish({ code, reason });
  }

  /** Drops the connection at once (the path is believed dead). */
  terminate(reason: string): void {
    if (this.ended) return;
    this.ws?.terminate();
    this.finish({ code: 1006, reason });
  }

  private noteTraffic(): void {
    const { clock } = this.options;
    this.lastTrafficAt = clock.now();
    this.lastTrafficMono = clock.monotonic();
  }

  private finish(end: SessionEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(end);
  }
}
