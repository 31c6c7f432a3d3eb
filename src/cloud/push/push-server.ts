import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Clock } from '../../clock/clock.ts';
import type { ClientAddress } from '../../http/client-address.ts';
import { guardListener } from '../../http/guarded-handler.ts';
import { rejectUpgrade } from '../../http/reject-upgrade.ts';
import type { Logger } from '../../log/logger.ts';
import { decodeFromGateway, encodeMessage } from '../../protocol/codec.ts';
import { type Advice, type GatewayToCloud, type Hello, PROTOCOL_VERSION } from '../../protocol/messages.ts';
import { type StreamRequest, TUNNEL_LINE_MAX_MESSAGE } from '../../tunnel/tunnel-mux.ts';
import type { GatewayKeepaliveState, KeepaliveAdvisor } from '../advisor/keepalive-advisor.ts';
import { domainOf, siteKey } from '../learning/domain.ts';
import { PROBE_LINES } from '../learning/learning-config.ts';
import type { DataType } from '../learning/status-record.ts';
import type { EventLoopWatch } from '../overload/event-loop-watch.ts';
import { type GatewayRegistry, tokenMatchesHash } from '../registry/gateway-registry.ts';
import type { LearningStore, NewRecord } from '../status/learning-store.ts';
import { CloudLine, type ExchangeOutcome } from './cloud-line.ts';
import { exchangeRecord } from './exchange-recorder.ts';
import type { FleetCalls } from './fleet-calls.ts';
import type { GatewayDirectory } from './gateway-directory.ts';
import { ProbeRunner } from './probe-runner.ts';

/** Path of the push WebSocket endpoint. */
export const PUSH_PATH = '/push';
/** Header naming the gateway on the upgrade request; the bearer token proves it. */
export const GATEWAY_HEADER = 'x-mfp-gateway';
/** A connection that does not say hello within this time is closed. */
const HELLO_TIMEOUT_MS = 10_000;
/**
 * A reported loss older than this is dated at most this far back: a gateway's clock runs
 * only so far from ours, and a report a day late would be dated outside every window anyway.
 */
const MAX_LOSS_AGE_MS = 24 * 3_600_000;
/** After a reported keep-alive loss, the gateway waited this long at most for our answer (its answerTimeout). */
const LOSS_ANSWER_WINDOW_MS = 30_000;

export interface PushServerOptions {
  /** Who may open lines; read at every upgrade, so changes apply without a restart. */
  gateways: GatewayRegistry;
  store: LearningStore;
  directory: GatewayDirectory;
  advisor: KeepaliveAdvisor;
  clock: Clock;
  logger: Logger;
  probeAckTimeoutMs: number;
  /** The cloud's own lateness: losses while it stalled are its own, not the network's. */
  overload?: EventLoopWatch;
  /**
   * Where a line really comes from (its site's egress address): the peer, or behind trusted
   * load balancers their X-Forwarded-For. Default: the peer address.
   */
  clientAddress?: ClientAddress;
  /** Decides on the streams a gateway opens on a line (none: every one is refused). */
  onStream?: (line: CloudLine, request: StreamRequest) => void;
  /** The other nodes of a fleet: a restore goes over a line one of them holds when this node has none. */
  fleet?: FleetCalls | undefined;
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
  /** The probe lines each gateway has opened while probing: reopened over a live push line when lost. */
  private readonly probeLineIds = new Map<string, Set<string>>();
  /** When each gateway's lines were last closed by the admin API (kept for one hello timeout). */
  private readonly revokedAt = new Map<string, number>();

  constructor(options: PushServerOptions) {
    this.options = options;
    this.log = options.logger.child({ part: 'push-server' });
    this.probes = new ProbeRunner({
      clock: options.clock,
      logger: this.log,
      ackTimeoutMs: options.probeAckTimeoutMs,
      linesOf: (gatewayId) => options.directory.lines(gatewayId, 'probe'),
      plan: (gatewayId, lines) => options.advisor.planProbes(gatewayId, lines),
      onOutcome: (line, outcome) => this.recordOutcome(line, 'probe', outcome),
      onReopen: (line, cause) => {
        const why =
          cause === 'overdue-probe'
            ? 'probe line idle past an overdue probe'
            : 'probe line idle past the failing gap';
        line.close(1000, `${why}: reopen it`);
        // An overdue probe's lines are asked back over a push line when one is open: a send on a
        // probe line waiting for its probe resets the idle it is sitting out, and a cap-dead one
        // would look alive at the send.
        this.restore(line.gatewayId, [line.connectionId], why, { pushFirst: cause === 'overdue-probe' });
      },
      onDone: (gatewayId, lines) => this.probingEnded(gatewayId, lines),
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
    const from = this.options.clientAddress?.of(req) ?? req.socket.remoteAddress ?? null;
    this.options.gateways.get(gatewayId).then(
      (registered) => {
        if (!registered || registered.disabled || !tokenMatchesHash(token, registered.tokenHash)) {
          this.log.warn(
            { gateway: gatewayId.slice(0, 64), from },
            'push line refused: unknown or disabled gateway, or bad token',
          );
          rejectUpgrade(socket, 401, 'Unauthorized');
          return;
        }
        if (socket.destroyed) return;
        const authorizedAt = this.options.clock.now();
        this.wss.handleUpgrade(req, socket, head, (ws) => this.awaitHello(ws, gatewayId, from, authorizedAt));
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

  /**
   * Asks a gateway, over a live line, to reopen lines the cloud saw die: the one of this node's
   * heard from last, a probe line too (behind a middlebox stricter than the keep-alive interval
   * the push lines are dead by then, and a probe line that just answered is alive; the request
   * ends its idle gap, and the next plan counts from there) — with `pushFirst`, a push line when
   * one is open — else (in a fleet, unless `localOnly`) a push line another node holds.
   */
  restore(
    gatewayId: string,
    connectionIds: string[],
    reason: string,
    options: { except?: CloudLine; localOnly?: boolean; pushFirst?: boolean } = {},
  ): boolean {
    const rank = (l: CloudLine) => (options.pushFirst && l.role !== 'push' ? 1 : 0);
    const via = this.options.directory
      .lines(gatewayId)
      .filter((l) => l !== options.except && !connectionIds.includes(l.connectionId))
      .sort((a, b) => rank(a) - rank(b) || a.silenceMs() - b.silenceMs())[0];
    if (!via) return !options.localOnly && this.restoreElsewhere(gatewayId, connectionIds, reason);
    this.log.info(
      { gateway: gatewayId, lines: connectionIds, via: via.connectionId, reason },
      'asking gateway to restore lines',
    );
    return via.send({ type: 'restore', connectionIds, reason });
  }

  /** A restore over a line another node holds (the two lines of a gateway may sit on two nodes). */
  private restoreElsewhere(gatewayId: string, connectionIds: string[], reason: string): boolean {
    const { fleet, directory } = this.options;
    const via = fleet
      ? directory.remoteLines(gatewayId, 'push').find((l) => !connectionIds.includes(l.connectionId))
      : undefined;
    if (!fleet || !via) return false;
    this.log.info(
      { gateway: gatewayId, lines: connectionIds, via: via.connectionId, node: via.node, reason },
      'asking gateway to restore lines, over another node',
    );
    void fleet.restore(via, connectionIds, reason);
    return true;
  }

  /** Logs an exchange outcome and tells the gateway when the advice changed. */
  async recordOutcome(
    line: CloudLine,
    dataType: DataType,
    outcome: ExchangeOutcome,
    connectionId?: string,
  ): Promise<void> {
    const now = this.options.clock.now();
    const cloudLate = !outcome.ok && this.cloudWasLate(outcome.at, now);
    const record = exchangeRecord(now, line, dataType, outcome, {
      policyLimited: line.hello.policyLimited,
      cloudLate,
      ...(connectionId === undefined ? {} : { connectionId }),
    });
    if (!outcome.ok) {
      this.log.info(
        {
          gateway: line.gatewayId,
          line: connectionId ?? line.connectionId,
          dataType,
          failure: record.failure,
          idleMs: outcome.idleBeforeMs,
        },
        cloudLate ? 'exchange failed while the cloud was overloaded: not evidence' : 'exchange failed',
      );
      if (line.role === 'probe')
        this.restore(
          line.gatewayId,
          [line.connectionId],
          `probe after ${outcome.idleBeforeMs} ms idle failed`,
        );
    }
    const state = await this.observe(line.gatewayId, [record]);
    if (state) this.notifyAdvice(line.gatewayId, state);
  }

  /**
   * Sends current advice to every push line of a gateway whose last advice differs in what the
   * gateway acts on (interval, replacement age, probing). Probe lines get none: every packet
   * on them would reset the idle gap they are measuring.
   */
  notifyAdvice(gatewayId: string, known?: GatewayKeepaliveState, knownKey?: string): void {
    const lines = this.options.directory.lines(gatewayId, 'push');
    if (lines.length === 0) return;
    const send = (state: GatewayKeepaliveState) => {
      const key = state === known && knownKey !== undefined ? knownKey : adviceKey(state);
      for (const line of lines) {
        if (this.lastAdviceSent.get(line) === key) continue;
        this.lastAdviceSent.set(line, key);
        line.send({ type: 'advice', advice: state.advice as Advice, ...probeFields(state) });
      }
    };
    if (known) send(known);
    else
      this.options.advisor
        .stateFor(gatewayId)
        .then(send, (err: Error) =>
          this.log.error({ gateway: gatewayId, err: err.message }, 'cannot read keep-alive advice'),
        );
  }

  /**
   * Probing is over (converged, or no longer the representative): the push lines get the advice
   * that says so, and so does every probe line, which the cloud then closes itself. The gateway
   * closes its probe lines when it hears it, but behind a middlebox stricter than the keep-alive
   * interval its push lines may be dead when the advice leaves, and by the time it hears, a probe
   * line idle past U is forgotten by the middlebox and its close never arrives: the line would
   * stay open in the directory for good. Nothing is measured any more, so a packet on a probe
   * line costs nothing now. A line with a probe out is not among `lines`: closing it would read
   * as that probe failing; it comes here after its answer. A line that does not answer the close
   * within a probe's answer wait is dead (forgotten by the middlebox): it is dropped then, not
   * after the WebSocket close timeout (30 s). A live one has read the advice by then, so its
   * gateway has stopped it and reports no loss.
   */
  private probingEnded(gatewayId: string, lines: readonly CloudLine[]): void {
    this.notifyAdvice(gatewayId);
    this.options.advisor.stateFor(gatewayId).then(
      (state) => {
        if (state.probeGapMs !== null) return;
        for (const line of lines) {
          if (!line.isOpen) continue;
          line.send({ type: 'advice', advice: state.advice as Advice, ...probeFields(state) });
          line.close(1000, 'probing finished');
          this.options.clock.setTimeout(
            () => line.terminate('probing finished; the close went unanswered'),
            this.options.probeAckTimeoutMs,
          );
        }
      },
      (err: Error) =>
        this.log.error({ gateway: gatewayId, err: err.message }, 'cannot read keep-alive advice'),
    );
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
    const onHello = guardListener(
      this.log,
      'handling a hello',
      () => ws.close(1011, 'internal error'),
      (data: unknown, isBinary: boolean) =>
        this.hello(ws, data as Buffer, isBinary, gatewayId, egress, authorizedAt),
    );
    ws.once('message', (data, isBinary) => {
      clock.clearTimeout(timer);
      onHello(data, isBinary);
    });
  }

  /** The line's first message: a hello for the gateway it authenticated as, or the line ends. */
  private hello(
    ws: WebSocket,
    data: Buffer,
    isBinary: boolean,
    gatewayId: string,
    egress: string | null,
    authorizedAt: number,
  ): void {
    const decoded = decodeFromGateway(data, isBinary);
    if (!decoded.ok || decoded.message.type !== 'hello') {
      const reason = decoded.ok ? `expected hello, got ${decoded.message.type}` : decoded.error.message;
      const code = decoded.ok ? 'MFP_ERR_UNEXPECTED_MESSAGE' : decoded.error.code;
      ws.send(encodeMessage({ type: 'error', code, message: reason }));
      ws.close(1008, code);
      return;
    }
    const hello = decoded.message;
    const refusal =
      hello.v !== PROTOCOL_VERSION
        ? {
            code: 'MFP_ERR_UNSUPPORTED_VERSION' as const,
            message: `protocol version ${hello.v} not supported; this cloud speaks ${PROTOCOL_VERSION}`,
          }
        : hello.gatewayId !== gatewayId
          ? {
              code: 'MFP_ERR_GATEWAY_MISMATCH' as const,
              message: 'the hello names another gateway than the one the line authenticated as',
            }
          : null;
    if (refusal) {
      ws.send(encodeMessage({ type: 'error', ...refusal }));
      ws.close(1008, 'bad hello');
      return;
    }
    const revokedAt = this.revokedAt.get(gatewayId);
    if (revokedAt !== undefined && authorizedAt <= revokedAt) {
      ws.close(1000, 'gateway credentials changed');
      return;
    }
    this.accept(ws, hello, egress).catch((err: Error) => {
      this.log.error({ gateway: hello.gatewayId, err: err.message }, 'cannot accept line');
      ws.close(1011, 'cloud error');
    });
  }

  private async accept(ws: WebSocket, hello: Hello, egress: string | null): Promise<void> {
    const { store, directory, advisor, clock } = this.options;
    const helloAt = clock.now();
    const domain = hello.domain ? domainOf(hello.domain) : '';
    const site = siteKey(domain, egress);
    const known = await store.gateway(hello.gatewayId);
    await store.saveGateway({
      gatewayId: hello.gatewayId,
      clientId: hello.clientId,
      domain,
      egressAddress: egress,
      siteKey: site,
      lastHelloAt: helloAt,
    });
    if (known?.siteKey !== site) {
      if (known) advisor.forgetSite(known.siteKey);
      advisor.forgetSite(site);
    }
    const snapshot = await advisor.observe(hello.gatewayId, this.lossRecords(hello, helloAt));
    if (ws.readyState !== ws.OPEN) return;
    const line = new CloudLine({
      ws,
      hello,
      egressAddress: egress,
      clock,
      logger: this.log,
      lagNowMs: () => this.options.overload?.lagNowMs() ?? 0,
      events: {
        onMessage: (l, message, idleBeforeMs) => this.lineMessage(l, message, idleBeforeMs),
        onClose: (l, code, reason) => {
          this.probes.untrack(l);
          directory.remove(l);
          this.log.info({ gateway: l.gatewayId, line: l.connectionId, code, reason }, 'line closed');
        },
      },
    });
    const previous = directory.add(line, {
      gatewayId: hello.gatewayId,
      clientId: hello.clientId,
      domain,
      siteKey: site,
      egressAddress: egress,
      uptimeAtHelloMs: hello.uptimeMs,
      helloAt,
      cpuLoad: hello.cpuLoad,
      powerMode: hello.powerMode,
    });
    if (previous) previous.terminate('taken over by a new connection of the same line');
    line.attach();
    const { onStream } = this.options;
    if (onStream) line.onStream((request) => onStream(line, request));
    const state = advisor.state(hello.gatewayId, snapshot);
    this.lastAdviceSent.set(line, adviceKey(state));
    line.send({
      type: 'welcome',
      connectionId: line.connectionId,
      sessionId: line.sessionId,
      advice: state.advice as Advice,
      representative: state.representative,
      ...probeFields(state),
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
    if (line.role === 'probe') {
      let ids = this.probeLineIds.get(hello.gatewayId);
      if (!ids) {
        ids = new Set();
        this.probeLineIds.set(hello.gatewayId, ids);
      }
      ids.add(line.connectionId);
      this.probes.track(line);
    } else this.notifyAdvice(hello.gatewayId, state);
  }

  private lineMessage(line: CloudLine, message: GatewayToCloud, idleBeforeMs: number): void {
    if (message.type === 'keepalive') {
      const { hello } = line;
      if (
        hello.powerMode !== message.powerMode ||
        hello.keepaliveMs !== message.keepaliveMs ||
        hello.policyLimited !== message.policyLimited
      )
        line.hello = {
          ...hello,
          powerMode: message.powerMode,
          keepaliveMs: message.keepaliveMs,
          policyLimited: message.policyLimited,
        };
      const now = this.options.clock.now();
      const record: NewRecord = {
        time: now,
        gatewayId: line.gatewayId,
        clientId: line.clientId,
        connectionId: line.connectionId,
        sessionId: line.sessionId,
        role: line.role,
        dataType: 'keepalive',
        status: 'OK',
        idleBeforeMs,
        connectionAgeMs: line.ageMs(),
        policyLimited: message.policyLimited,
      };
      const answer = (state: GatewayKeepaliveState | null) => {
        if (!state) return;
        const key = adviceKey(state);
        this.lastAdviceSent.set(line, key);
        line.send({
          type: 'keepalive-ack',
          seq: message.seq,
          advice: state.advice as Advice,
          ...probeFields(state),
        });
        this.notifyAdvice(line.gatewayId, state, key);
        this.restoreLostProbeLines(line, state);
      };
      const state = this.observeNow(line.gatewayId, record);
      if (state === undefined) void this.observe(line.gatewayId, [record]).then(answer);
      else answer(state);
      this.options.directory.noteLoad(line.gatewayId, message);
    } else if (message.type === 'load') {
      this.options.directory.noteLoad(line.gatewayId, message);
    } else if (message.type === 'error') {
      this.log.warn(
        { gateway: line.gatewayId, code: message.code, err: message.message },
        'gateway reported an error',
      );
    } else {
      line.send({
        type: 'error',
        code: 'MFP_ERR_UNEXPECTED_MESSAGE',
        message: `unexpected "${message.type}" on an open line`,
      });
    }
  }

  /**
   * A keep-alive just proved this push line alive: if the gateway should be probing but a probe
   * line it opened is gone (a failed probe closed it, and the restore asked for then went over a
   * line the middlebox had already forgotten; the probe line sends no keep-alives, so the gateway
   * cannot notice), ask again over this line, so probing goes on.
   */
  private restoreLostProbeLines(line: CloudLine, state: GatewayKeepaliveState): void {
    const ids = this.probeLineIds.get(line.gatewayId);
    if (!ids || line.role !== 'push') return;
    if (state.probeGapMs === null) {
      this.probeLineIds.delete(line.gatewayId);
      return;
    }
    const open = new Set(this.options.directory.lines(line.gatewayId, 'probe').map((l) => l.connectionId));
    const lost = [...ids].filter((id) => !open.has(id));
    if (lost.length === 0) return;
    this.log.info(
      { gateway: line.gatewayId, lines: lost, via: line.connectionId },
      'probe line lost while probing: asking the gateway to reopen it',
    );
    line.send({ type: 'restore', connectionIds: lost, reason: 'probe line lost while probing' });
  }

  /** Whether the cloud stalled in [from, to]: a loss then is the cloud's own (counted for the metrics). */
  private cloudWasLate(from: number, to: number): boolean {
    const { overload } = this.options;
    if (!overload?.wasLate(from, to)) return false;
    overload.noteLateLoss();
    return true;
  }

  /**
   * observe() at once when the advisor can (advisor.observeNow): the keep-alive is answered in
   * the tick it arrived in. Undefined: take observe(); null: the store failed (logged).
   */
  private observeNow(gatewayId: string, record: NewRecord): GatewayKeepaliveState | null | undefined {
    const { advisor } = this.options;
    try {
      const snapshot = advisor.observeNow(gatewayId, [record]);
      return snapshot && advisor.state(gatewayId, snapshot);
    } catch (err) {
      this.log.error({ gateway: gatewayId, err: (err as Error).message }, 'cannot record an exchange');
      return null;
    }
  }

  /** Folds records into the gateway's evidence; logs and returns null when the store fails. */
  private async observe(gatewayId: string, records: NewRecord[]): Promise<GatewayKeepaliveState | null> {
    try {
      const { advisor } = this.options;
      return advisor.state(gatewayId, await advisor.observe(gatewayId, records));
    } catch (err) {
      this.log.error({ gateway: gatewayId, err: (err as Error).message }, 'cannot record an exchange');
      return null;
    }
  }

  /**
   * The lines a hello reports lost, as status-log rows dated at their deaths. A clean close by
   * the cloud says nothing about the path, nor does a line the gateway replaced itself; an
   * unanswered keep-alive or a connection dropped under the gateway after an idle gap does —
   * unless the cloud was stalled when it owed the answer, then the loss is the cloud's. Nor
   * does a line lost while the gateway was away (suspended, frozen): its gap is not the path's.
   */
  private lossRecords(hello: Hello, helloAt: number): NewRecord[] {
    const records: NewRecord[] = [];
    for (const lost of hello.lost) {
      if (lost.reason !== 'keepalive-timeout' && lost.reason !== 'error') continue;
      if (lost.away) continue;
      // Whole ms: a gateway may report a fractional age, and the log's time is an integer (bigint on PostgreSQL).
      const at = Math.round(helloAt - Math.min(lost.agoMs ?? 0, MAX_LOSS_AGE_MS));
      const cloudLate =
        lost.reason === 'keepalive-timeout' && this.cloudWasLate(at, at + LOSS_ANSWER_WINDOW_MS);
      records.push({
        time: at,
        gatewayId: hello.gatewayId,
        clientId: hello.clientId,
        connectionId: lost.connectionId,
        ...(lost.sessionId === undefined ? {} : { sessionId: lost.sessionId }),
        role: lost.role,
        dataType: 'keepalive',
        status: 'NG',
        failure: cloudLate ? 'cloud-late' : lost.reason === 'error' ? 'reset' : 'keepalive-timeout',
        idleBeforeMs: lost.idleBeforeMs,
        connectionAgeMs: lost.ageMs,
        policyLimited: lost.policyLimited,
      });
    }
    return records;
  }
}

/** Whether the gateway should probe, and on how many lines. */
function probeFields(state: GatewayKeepaliveState): { probe: boolean; probeLines?: number } {
  return state.probeGapMs === null ? { probe: false } : { probe: true, probeLines: PROBE_LINES };
}

/** What the gateway acts on in advice: a change in anything else is not worth a packet. */
function adviceKey(state: GatewayKeepaliveState): string {
  const { intervalMs, reconnectBeforeAgeMs } = state.advice;
  return `${intervalMs}|${reconnectBeforeAgeMs}|${state.probeGapMs !== null}`;
}
