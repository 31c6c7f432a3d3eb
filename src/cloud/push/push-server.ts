import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Clock } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import { decodeFromGateway, encodeMessage } from '../../protocol/codec.ts';
import { type Advice, type Hello, PROTOCOL_VERSION } from '../../protocol/messages.ts';
import { type StreamRequest, TUNNEL_LINE_MAX_MESSAGE } from '../../tunnel/tunnel-mux.ts';
import type { KeepaliveAdvisor } from '../advisor/keepalive-advisor.ts';
import { domainOf, siteKey } from '../learning/domain.ts';
import { type GatewayRegistry, tokenMatchesHash } from '../registry/gateway-registry.ts';
import { rejectUpgrade } from '../reject-upgrade.ts';
import type { StatusStore } from '../status/status-store.ts';
import { CloudLine, type ExchangeOutcome } from './cloud-line.ts';
import { recordExchange } from './exchange-recorder.ts';
import type { GatewayDirectory } from './gateway-directory.ts';
import { ProbeRunner } from './probe-runner.ts';

/** Path of the push WebSocket endpoint. */
export const PUSH_PATH = '/push';
/** Header naming the gateway on the upgrade request; the bearer token proves it. */
export const GATEWAY_HEADER = 'x-mfp-gateway';
/** A connection that does not say hello within this time is closed. */
const HELLO_TIMEOUT_MS = 10_000;

export interface PushServerOptions {
  /** Who may open lines; read at every upgrade, so changes apply without a restart. */
  gateways: GatewayRegistry;
  store: StatusStore;
  directory: GatewayDirectory;
  advisor: KeepaliveAdvisor;
  clock: Clock;
  logger: Logger;
  probeAckTimeoutMs: number;
  /** Decides on the streams a gateway opens on a line (none: every one is refused). */
  onStream?: (line: CloudLine, request: StreamRequest) => void;
}

/**
 * The cloud end of the push lines: authenticates gateways, accepts their lines, logs
 * every keep-alive and probe in the status log, and answers with learned advice.
 */
export class PushServer {
  // Binary tunnel messages are larger than control frames; the codec enforces the control limit.
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: TUNNEL_LINE_MAX_MESSAGE,
  });
  private readonly options: PushServerOptions;
  private readonly log: Logger;
  private readonly probes: ProbeRunner;
  private readonly lastAdviceSent = new WeakMap<CloudLine, string>();
  /** When each gateway's lines were last closed by the admin API (kept for one hello timeout). */
  private readonly revokedAt = new Map<string, number>();

  constructor(options: PushServerOptions) {
    this.options = options;
    this.log = options.logger.child({ part: 'push-server' });
    this.probes = new ProbeRunner({
      clock: options.clock,
      logger: this.log,
      ackTimeoutMs: options.probeAckTimeoutMs,
      planGap: (gatewayId) => options.advisor.stateFor(gatewayId).probeGapMs,
      onOutcome: (line, outcome) => this.recordOutcome(line, 'probe', outcome),
      onDone: (line) => this.notifyAdvice(line.gatewayId),
    });
  }

  /** Handles an HTTP upgrade on the push path; other paths get 404. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?')[0];
    if (path !== PUSH_PATH) {
      rejectUpgrade(socket, 404, 'Not Found');
      return;
    }
    const gatewayId = String(req.headers[GATEWAY_HEADER] ?? '');
    const auth = String(req.headers.authorization ?? '');
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    this.options.gateways.get(gatewayId).then(
      (registered) => {
        if (!registered || registered.disabled || !tokenMatchesHash(token, registered.tokenHash)) {
          this.log.warn(
            { gateway: gatewayId.slice(0, 64), from: req.socket.remoteAddress },
            'push line refused: unknown or disabled gateway, or bad token',
          );
          rejectUpgrade(socket, 401, 'Unauthorized');
          return;
        }
        if (socket.destroyed) return;
        const authorizedAt = this.options.clock.now();
        this.wss.handleUpgrade(req, socket, head, (ws) =>
          this.awaitHello(ws, gatewayId, req.socket.remoteAddress ?? null, authorizedAt),
        );
      },
      (err: Error) => {
        this.log.error({ err: err.message, gateway: gatewayId.slice(0, 64) }, 'gateway registry unreadable');
        rejectUpgrade(socket, 503, 'Service Unavailable');
      },
    );
  }

  /**
   * Closes every line of a gateway on this node (it was disabled, deleted or got a new
   * token). A normal close: the gateway does not count it as the network's failure.
   */
  closeGateway(gatewayId: string, reason: string): number {
    // A line authorized before this moment but still saying hello must not slip in after.
    const { clock } = this.options;
    const now = clock.now();
    this.revokedAt.set(gatewayId, now);
    clock.setTimeout(() => {
      if (this.revokedAt.get(gatewayId) === now) this.revokedAt.delete(gatewayId);
    }, HELLO_TIMEOUT_MS);
    const lines = this.options.directory.get(gatewayId)?.lines.values() ?? [];
    let closed = 0;
    for (const line of lines) {
      line.close(1000, reason);
      closed++;
    }
    if (closed > 0)
      this.log.info({ gateway: gatewayId, lines: closed, reason }, 'closed the gateway’s lines');
    return closed;
  }

  /** Live push or probe lines; used by the dispatcher and the API. */
  get directory(): GatewayDirectory {
    return this.options.directory;
  }

  /** Asks a gateway, over a live line, to reopen lines the cloud saw die. */
  restore(gatewayId: string, connectionIds: string[], reason: string, except?: CloudLine): boolean {
    const via = this.options.directory
      .lines(gatewayId, 'push')
      .filter((l) => l !== except && !connectionIds.includes(l.connectionId))
      .sort((a, b) => a.idleMs() - b.idleMs())[0];
    if (!via) return false;
    this.log.info(
      { gateway: gatewayId, lines: connectionIds, via: via.connectionId, reason },
      'asking gateway to restore lines',
    );
    return via.send({ type: 'restore', connectionIds, reason });
  }

  /** Logs an exchange outcome and tells the gateway when the advice changed. */
  recordOutcome(line: CloudLine, dataType: 'push' | 'probe' | 'keepalive', outcome: ExchangeOutcome): void {
    recordExchange(
      this.options.store,
      this.options.clock.now(),
      line,
      dataType,
      outcome,
      line.hello.policyLimited,
    );
    if (!outcome.ok) {
      this.log.info(
        {
          gateway: line.gatewayId,
          line: line.connectionId,
          dataType,
          failure: outcome.failure,
          idleMs: outcome.idleBeforeMs,
        },
        'exchange failed',
      );
      if (line.role === 'probe')
        this.restore(
          line.gatewayId,
          [line.connectionId],
          `probe after ${outcome.idleBeforeMs} ms idle failed`,
        );
    }
    this.notifyAdvice(line.gatewayId);
  }

  /** Sends current advice to every line of a gateway whose last advice differs. */
  notifyAdvice(gatewayId: string): void {
    const lines = this.options.directory.lines(gatewayId);
    if (lines.length === 0) return;
    const state = this.options.advisor.stateFor(gatewayId);
    const probe = state.probeGapMs !== null;
    const key = JSON.stringify([state.advice, probe]);
    for (const line of lines) {
      if (this.lastAdviceSent.get(line) === key) continue;
      this.lastAdviceSent.set(line, key);
      line.send({ type: 'advice', advice: state.advice as Advice, probe });
    }
  }

  /** Closes every line (server shutdown): gateways reconnect elsewhere or later. */
  closeAll(): void {
    this.probes.stopAll();
    for (const presence of this.options.directory.all()) {
      for (const line of presence.lines.values()) line.close(1001, 'cloud shutting down');
    }
    for (const ws of this.wss.clients) ws.terminate();
  }

  private awaitHello(ws: WebSocket, gatewayId: string, egress: string | null, authorizedAt: number): void {
    const { clock } = this.options;
    const timer = clock.setTimeout(() => ws.close(1008, 'no hello'), HELLO_TIMEOUT_MS);
    ws.on('error', () => {});
    ws.once('close', () => clock.clearTimeout(timer));
    ws.once('message', (data, isBinary) => {
      clock.clearTimeout(timer);
      const decoded = decodeFromGateway(data as Buffer, isBinary);
      if (!decoded.ok || decoded.message.type !== 'hello') {
        const reason = decoded.ok ? `expected hello, got ${decoded.message.type}` : decoded.error.message;
        const code = decoded.ok ? 'MFP_ERR_UNEXPECTED_MESSAGE' : decoded.error.code;
        ws.send(encodeMessage({ type: 'error', code, message: reason }));
        ws.close(1008, code);
        return;
      }
      const hello = decoded.message;
      if (hello.v !== PROTOCOL_VERSION || hello.gatewayId !== gatewayId) {
        const message =
          hello.v !== PROTOCOL_VERSION
            ? `protocol version ${hello.v} not supported; this cloud speaks ${PROTOCOL_VERSION}`
            : 'hello names another gateway than the token';
        ws.send(encodeMessage({ type: 'error', code: 'MFP_ERR_UNSUPPORTED_VERSION', message }));
        ws.close(1008, 'bad hello');
        return;
      }
      const revokedAt = this.revokedAt.get(gatewayId);
      if (revokedAt !== undefined && authorizedAt <= revokedAt) {
        ws.close(1000, 'gateway credentials changed');
        return;
      }
      this.accept(ws, hello, egress);
    });
  }

  private accept(ws: WebSocket, hello: Hello, egress: string | null): void {
    const { store, directory, advisor, clock } = this.options;
    const line = new CloudLine({
      ws,
      hello,
      egressAddress: egress,
      clock,
      logger: this.log,
      events: {
        onMessage: (l, message, idleBeforeMs) => {
          if (message.type === 'keepalive') {
            l.hello = {
              ...l.hello,
              powerMode: message.powerMode,
              keepaliveMs: message.keepaliveMs,
              policyLimited: message.policyLimited,
            };
            recordExchange(
              store,
              clock.now(),
              l,
              'keepalive',
              { ok: true, idleBeforeMs, ageMs: l.ageMs() },
              message.policyLimited,
            );
            const state = advisor.stateFor(l.gatewayId);
            const probe = state.probeGapMs !== null;
            this.lastAdviceSent.set(l, JSON.stringify([state.advice, probe]));
            l.send({ type: 'keepalive-ack', seq: message.seq, advice: state.advice as Advice, probe });
            this.notifyAdvice(l.gatewayId);
          } else if (message.type === 'error') {
            this.log.warn(
              { gateway: l.gatewayId, code: message.code, err: message.message },
              'gateway reported an error',
            );
          } else {
            l.send({
              type: 'error',
              code: 'MFP_ERR_UNEXPECTED_MESSAGE',
              message: `unexpected "${message.type}" on an open line`,
            });
          }
        },
        onClose: (l, code, reason) => {
          this.probes.untrack(l);
          directory.remove(l);
          this.log.info({ gateway: l.gatewayId, line: l.connectionId, code, reason }, 'line closed');
        },
      },
    });
    const domain = hello.domain ? domainOf(hello.domain) : '';
    const site = siteKey(domain, egress);
    store.saveGateway({
      gatewayId: hello.gatewayId,
      clientId: hello.clientId,
      domain,
      egressAddress: egress,
      siteKey: site,
      lastHelloAt: clock.now(),
    });
    for (const lost of hello.lost) {
      // A clean close by the cloud says nothing about the path; an unanswered keep-alive or
      // a connection dropped under us (FIN/RST without a close frame) after an idle gap does.
      if (lost.reason !== 'keepalive-timeout' && lost.reason !== 'error') continue;
      store.append({
        time: clock.now(),
        gatewayId: hello.gatewayId,
        clientId: hello.clientId,
        connectionId: lost.connectionId,
        role: lost.role,
        dataType: 'keepalive',
        status: 'NG',
        failure: lost.reason === 'error' ? 'reset' : 'keepalive-timeout',
        idleBeforeMs: lost.idleBeforeMs,
        connectionAgeMs: lost.ageMs,
        policyLimited: lost.policyLimited,
      });
    }
    const previous = directory.add(line, {
      gatewayId: hello.gatewayId,
      clientId: hello.clientId,
      domain,
      siteKey: site,
      egressAddress: egress,
      uptimeAtHelloMs: hello.uptimeMs,
      helloAt: clock.now(),
      cpuLoad: hello.cpuLoad,
      powerMode: hello.powerMode,
    });
    if (previous) previous.terminate('taken over by a new connection of the same line');
    line.attach();
    const { onStream } = this.options;
    if (onStream) line.tunnels?.onStream((request) => onStream(line, request));
    const state = advisor.stateFor(hello.gatewayId);
    const probe = state.probeGapMs !== null;
    this.lastAdviceSent.set(line, JSON.stringify([state.advice, probe]));
    line.send({
      type: 'welcome',
      connectionId: line.connectionId,
      advice: state.advice as Advice,
      representative: state.representative,
      probe,
      tookOver: previous !== undefined,
    });
    this.log.info(
      {
        gateway: hello.gatewayId,
        line: line.connectionId,
        role: hello.role,
        adviceMs: state.advice.intervalMs,
        source: state.advice.source,
        tookOver: previous !== undefined,
      },
      'line up',
    );
    if (line.role === 'probe') this.probes.track(line);
    else this.notifyAdvice(hello.gatewayId);
  }
}
