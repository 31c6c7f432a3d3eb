import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import type {
  Advice,
  CloudToGateway,
  GatewayLoadReport,
  Hello,
  LostLine,
  Push,
  Welcome,
} from '../../protocol/messages.ts';
import type { TunnelTargetInput } from '../../protocol/tunnel/target.ts';
import { Backoff } from '../../retry/backoff.ts';
import type { MemoryBudget } from '../../tunnel/memory-budget.ts';
import type { StreamRequest } from '../../tunnel/tunnel-mux.ts';
import type { TunnelStream } from '../../tunnel/tunnel-stream.ts';
import {
  type DeadLineInfo,
  isSettledAdvice,
  KeepaliveManager,
  type SlowStart,
} from '../keepalive/keepalive-manager.ts';
import type { PowerMode } from '../keepalive/power-policy.ts';
import { LineSession, type SessionFailure } from './line-session.ts';

/** What a line is doing now, for status and readiness. */
export type LineState = 'idle' | 'connecting' | 'open' | 'waiting' | 'auth-failed' | 'stopped';

/** Everything a line needs from the gateway around it. */
export interface LineContext {
  clock: Clock;
  logger: Logger;
  url: string;
  headers: Record<string, string>;
  agent?: import('node:http').Agent;
  ca?: Buffer;
  keepaliveDefaultMs: number;
  answerTimeoutMs: number;
  /** Push lines ramp their keep-alives up while the advice is not settled (absent: no ramp). */
  slowStart?: SlowStart;
  openTimeoutMs: number;
  backoff: { initialMs: number; maxMs: number; stableAfterMs: number; authFailureDelayMs: number };
  mode: () => PowerMode;
  /** The gateway's load now, for keep-alives (absent: keep-alives carry none). */
  load?: () => GatewayLoadReport;
  /** Builds this line's hello (identity, host facts, lost lines to report). */
  hello: (connectionId: string, role: Hello['role'], keepaliveMs: number, policyLimited: boolean) => Hello;
  /** Called once a hello carrying the lost-line evidence has been welcomed. */
  lostReported: (lost: readonly LostLine[]) => void;
  /**
   * A loss to report on the next hello; observedAt (monotonic, ms) dates it: the hello says
   * how long ago.
   */
  reportLost: (lost: Omit<LostLine, 'agoMs'>, observedAt: number) => void;
  /**
   * Whether the gateway was away (suspended, or its process frozen) at some moment since
   * this monotonic time: a line lost meanwhile is no evidence of the path (clock-watch).
   */
  awaySince?: (monotonicMs: number) => boolean;
  onPush: (push: Push) => Promise<void>;
  /** Advice arrived; probe: keep probe lines open, probeLines of them (absent: one). */
  onAdvice: (advice: Advice, probe: boolean, from: PushLine, probeLines?: number) => void;
  onRestore: (connectionIds: string[], reason: string) => void;
  /** Decides on each tunnel the cloud opens on a line. */
  onTunnel?: (request: StreamRequest) => void;
  /** What the cloud may make the gateway buffer in tunnels, shared by all lines. */
  tunnelBudget?: MemoryBudget;
  onStateChange: () => void;
}

/** A snapshot of a line for status pages and the API. */
export interface LineStatus {
  id: string;
  role: Hello['role'];
  state: LineState;
  connectedSince: number | null;
  lastTrafficAt: number | null;
  reconnects: number;
  keepaliveMs: number | null;
  limitedByPolicy: boolean;
  lastError: string | null;
}

/**
 * One push line of the gateway (seed 000's push connection): keeps a session open,
 * keeps it alive at the advised interval, reconnects with backoff, never gives up, and
 * replaces itself before a detected lifetime cap (make-before-break).
 */
export class PushLine {
  readonly id: string;
  readonly role: Hello['role'];
  private state: LineState = 'idle';
  private session: LineSession | undefined;
  private keepalive: KeepaliveManager | undefined;
  private timer: TimerHandle | undefined;
  private stableTimer: TimerHandle | undefined;
  private backoff: Backoff;
  private reconnects = 0;
  private lastError: string | null = null;
  private connectedSince: number | null = null;
  private seq = 0;
  /** The cloud's name for the current session (welcome.sessionId), quoted when it is lost. */
  private sessionId: string | undefined;
  /** The session a make-before-break replacement is taking over from: its end is no loss. */
  private replacing: LineSession | undefined;
  private intervalMs: number;
  private readonly ctx: LineContext;
  private readonly log: Logger;

  constructor(id: string, role: Hello['role'], ctx: LineContext) {
    this.id = id;
    this.role = role;
    this.ctx = ctx;
    this.intervalMs = ctx.keepaliveDefaultMs;
    this.log = ctx.logger.child({ line: id });
    this.backoff = new Backoff({ initialMs: ctx.backoff.initialMs, maxMs: ctx.backoff.maxMs });
  }

  /** Starts connecting now. */
  start(): void {
    if (this.state !== 'idle' && this.state !== 'stopped') return;
    this.connect();
  }

  /** Closes the line for good (until start is called again), telling the cloud why. */
  stop(reason = 'gateway stopping'): void {
    this.setState('stopped');
    this.clearTimers();
    this.keepalive?.stop();
    this.session?.close(1000, reason);
    this.session = undefined;
  }

  /** The cloud saw this line die: drop the session and reconnect at once. */
  restore(reason: string): void {
    if (this.state === 'stopped') return;
    this.log.info({ reason }, 'restoring line now');
    this.clearTimers();
    this.keepalive?.stop();
    const old = this.session;
    this.session = undefined;
    old?.terminate('restore');
    this.reconnects++;
    this.connect();
  }

  /** Applies a new power mode to this line's keep-alive. */
  setMode(mode: PowerMode): void {
    this.keepalive?.setMode(mode);
    this.ctx.onStateChange();
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Opens a tunnel stream to the cloud on this line; undefined when the line is not open. */
  openStream(target: TunnelTargetInput): Promise<TunnelStream> | undefined {
    const mux = this.state === 'open' ? this.session?.tunnels : undefined;
    if (!mux || mux.closed) return undefined;
    return mux.openStream(target);
  }

  /** Tunnel streams on this line now (new streams go where there are fewest). */
  get streamCount(): number {
    return this.session?.tunnels?.stats().streams ?? 0;
  }

  status(): LineStatus {
    return {
      id: this.id,
      role: this.role,
      state: this.state,
      connectedSince: this.connectedSince,
      lastTrafficAt: this.session?.lastTrafficAt ?? null,
      reconnects: this.reconnects,
      keepaliveMs: this.role === 'push' ? (this.keepalive?.intervalMs ?? this.intervalMs) : null,
      limitedByPolicy: this.keepalive?.limitedByPolicy ?? false,
      lastError: this.lastError,
    };
  }

  private setState(state: LineState): void {
    if (this.state === state) return;
    this.state = state;
    this.ctx.onStateChange();
  }

  private clearTimers(): void {
    const { clock } = this.ctx;
    clock.clearTimeout(this.timer);
    clock.clearTimeout(this.stableTimer);
  }

  private newSession(): { session: LineSession; hello: Hello } {
    const mode = this.ctx.mode();
    const limited = this.keepalive?.limitedByPolicy ?? false;
    const hello = this.ctx.hello(this.id, this.role, Math.max(this.intervalMs, mode.minIntervalMs), limited);
    const session = new LineSession({
      url: this.ctx.url,
      headers: this.ctx.headers,
      agent: this.ctx.agent,
      ca: this.ctx.ca,
      clock: this.ctx.clock,
      openTimeoutMs: this.ctx.openTimeoutMs,
      hello,
      onTunnel: this.ctx.onTunnel,
      tunnelBudget: this.ctx.tunnelBudget,
    });
    return { session, hello };
  }

  private connect(): void {
    this.setState('connecting');
    const { session, hello } = this.newSession();
    this.session = session;
    session.open().then(
      (welcome) => {
        if (this.session !== session) {
          session.close(1000, 'superseded');
          return;
        }
        this.ctx.lostReported(hello.lost);
        this.opened(session, welcome);
      },
      (failure: SessionFailure) => {
        if (this.session !== session) return;
        this.session = undefined;
        this.failed(failure);
      },
    );
  }

  private failed(failure: SessionFailure): void {
    if (this.state === 'stopped') return;
    this.lastError = failure.message;
    const authRefused = failure.kind === 'auth' || failure.kind === 'proxy-auth';
    const delay = authRefused ? this.ctx.backoff.authFailureDelayMs : this.backoff.next();
    if (authRefused) {
      this.log.error({ status: failure.status, retryInMs: delay }, failure.message);
      this.setState('auth-failed');
    } else {
      this.log.warn({ kind: failure.kind, retryInMs: delay }, `cannot open line: ${failure.message}`);
      this.setState('waiting');
    }
    this.timer = this.ctx.clock.setTimeout(() => {
      this.reconnects++;
      this.connect();
    }, delay);
  }

  private opened(session: LineSession, welcome: Welcome): void {
    const { clock } = this.ctx;
    const { advice, probe, tookOver, probeLines } = welcome;
    this.sessionId = welcome.sessionId;
    this.lastError = null;
    this.connectedSince = clock.now();
    session.onMessage = (m) => this.receive(session, m);
    session.onInvalid = (code, message) => this.log.warn({ code }, `invalid frame from cloud: ${message}`);
    session.onEnd = (end) => this.ended(session, end.code, end.reason);
    // Tunnel data from the cloud is traffic the middlebox sees and proof the line is alive: a
    // keep-alive's answer queued behind it on a slow line must not get the line called dead.
    session.onTunnelFrames = () => {
      if (session === this.session) this.keepalive?.noteTraffic('in');
    };
    if (this.role === 'push') {
      this.keepalive?.stop();
      this.keepalive = new KeepaliveManager({
        clock,
        initialIntervalMs: this.intervalMs,
        answerTimeoutMs: this.ctx.answerTimeoutMs,
        mode: this.ctx.mode(),
        sendKeepalive: () => this.sendKeepalive(session),
        onDead: (info) => this.dead(session, info),
        onReplaceDue: () => this.replace(session),
        ...(this.ctx.slowStart ? { slowStart: this.ctx.slowStart } : {}),
      });
      this.keepalive.start();
    }
    this.stableTimer = clock.setTimeout(() => this.backoff.reset(), this.ctx.backoff.stableAfterMs);
    this.setState('open');
    this.log.info({ role: this.role, tookOver }, 'line open');
    this.applyAdvice(advice, probe, probeLines);
  }

  private sendKeepalive(session: LineSession): void {
    const km = this.keepalive;
    if (!km) return;
    session.send({
      type: 'keepalive',
      seq: this.seq++,
      powerMode: this.ctx.mode().name,
      keepaliveMs: km.intervalMs,
      policyLimited: km.limitedByPolicy,
      ...this.ctx.load?.(),
    });
  }

  /** Tells the cloud the gateway's load, if this line is open and carries tunnels (an idle line stays idle). */
  reportLoad(load: GatewayLoadReport): boolean {
    if (this.state !== 'open' || !this.session || this.streamCount === 0) return false;
    this.session.send({ type: 'load', ...load });
    return true;
  }

  private receive(session: LineSession, message: CloudToGateway): void {
    if (session !== this.session) return;
    this.keepalive?.noteTraffic();
    switch (message.type) {
      case 'keepalive-ack':
        this.keepalive?.noteAnswer();
        this.applyAdvice(message.advice, message.probe, message.probeLines);
        break;
      case 'advice':
        this.applyAdvice(message.advice, message.probe, message.probeLines);
        break;
      case 'push':
        this.ctx.onPush(message).then(
          () => session.send({ type: 'push-ack', pushId: message.pushId }),
          (err: Error) =>
            this.log.error(
              { err: err.message, pushId: message.pushId },
              'push handler failed; not acknowledged',
            ),
        );
        break;
      case 'probe':
        session.send({ type: 'probe-ack', probeId: message.probeId });
        break;
      case 'restore':
        this.ctx.onRestore(message.connectionIds, message.reason);
        break;
      case 'error':
        this.log.warn({ code: message.code }, `cloud reported an error: ${message.message}`);
        break;
      case 'welcome':
        break;
    }
  }

  private applyAdvice(advice: Advice, probe: boolean, probeLines?: number): void {
    if (this.keepalive) {
      this.keepalive.setReplaceBeforeAge(advice.reconnectBeforeAgeMs);
      const before = this.keepalive.intervalMs;
      const decision = this.keepalive.applyAdvice(advice.intervalMs, isSettledAdvice(advice));
      this.intervalMs = decision.intervalMs;
      if (decision.intervalMs !== before) {
        this.log.info(
          {
            fromMs: before,
            toMs: decision.intervalMs,
            advisedMs: advice.intervalMs,
            source: advice.source,
            lowerMs: advice.lowerBoundMs,
            upperMs: advice.upperBoundMs,
            policy: decision.limitedByPolicy,
          },
          'keep-alive interval changed',
        );
      }
    }
    this.ctx.onAdvice(advice, probe, this, probeLines);
    this.ctx.onStateChange();
  }

  /** Make-before-break before a lifetime cap: open a new session, then drop the old one. */
  private replace(old: LineSession): void {
    if (this.session !== old || this.state !== 'open') return;
    this.log.info(
      { ageMs: this.ctx.clock.monotonic() - old.openedAt },
      'replacing line before its lifetime cap',
    );
    const { session: next, hello } = this.newSession();
    this.replacing = old;
    next.open().then(
      (welcome) => {
        if (this.session !== old || this.replacing !== old) {
          next.close(1000, 'superseded');
          return;
        }
        this.replacing = undefined;
        this.session = next;
        this.ctx.lostReported(hello.lost);
        old.onEnd = () => {};
        old.close(1000, 'replaced before lifetime cap');
        this.clearTimers();
        this.opened(next, welcome);
      },
      (failure: SessionFailure) => {
        if (this.replacing === old) this.replacing = undefined;
        this.log.warn(`replacement line failed: ${failure.message}`);
      },
    );
  }

  private dead(session: LineSession, info: DeadLineInfo): void {
    if (session !== this.session) return;
    this.log.warn({ idleBeforeMs: info.idleBeforeMs }, 'keep-alive unanswered: line is dead, reconnecting');
    // Evidence is dated when the unanswered keep-alive left, not when we gave up on it.
    this.lose(
      session,
      info.idleBeforeMs,
      'keepalive-timeout',
      info.sentAt,
      info.connectionAgeMs,
      info.sentAt - info.idleBeforeMs,
    );
    session.terminate('keep-alive unanswered');
  }

  private ended(session: LineSession, code: number, reason: string): void {
    if (session !== this.session) return;
    if (this.replacing === session) {
      // The cloud let go of the old session for its replacement (make-before-break): no loss.
      this.log.debug({ code, reason }, 'replaced session closed');
      return;
    }
    const now = this.ctx.clock.monotonic();
    const unanswered = this.keepalive?.unanswered ?? null;
    if (unanswered !== null) {
      // A reset or close under our keep-alive is the middlebox answering it: the evidence is the
      // gap the line sat before the keep-alive, not the few ms since it left, and the line was
      // found dead when the keep-alive left. A proxy in front of a hop that forgot the line closes
      // it only at its own idle timeout, seconds later: an age taken at the close would put a
      // lifetime cap that late.
      this.lose(
        session,
        unanswered.idleBeforeMs,
        'keepalive-timeout',
        unanswered.sentAt,
        unanswered.sentAt - session.openedAt,
        unanswered.sentAt - unanswered.idleBeforeMs,
      );
    } else {
      this.lose(
        session,
        now - session.lastTrafficMono,
        code === 1000 || code === 1001 ? 'closed' : 'error',
        now,
        undefined,
        session.lastTrafficMono,
      );
    }
    this.log.info({ code, reason }, 'line closed');
  }

  /**
   * Reports a lost session for the next hello and reconnects. observedAt and idleSince are
   * monotonic: the idle gap began at idleSince, and if the gateway was away since then (a
   * suspend, a frozen process) the gap it measured is not the one the path saw, so the
   * report says `away` and the cloud learns nothing from it.
   */
  private lose(
    session: LineSession,
    idleBeforeMs: number,
    reason: LostLine['reason'],
    observedAt: number,
    ageMs: number | undefined,
    idleSince: number,
  ): void {
    if (session !== this.session) return;
    const { clock } = this.ctx;
    const away = this.ctx.awaySince?.(idleSince) ?? false;
    if (away) this.log.info({ reason }, 'line lost while the gateway was away: not evidence');
    this.ctx.reportLost(
      {
        connectionId: this.id,
        role: this.role,
        // Whole ms: the monotonic clock has fractions, the cloud's status log does not.
        idleBeforeMs: Math.max(0, Math.round(idleBeforeMs)),
        ageMs: Math.max(0, Math.round(ageMs ?? observedAt - session.openedAt)),
        reason,
        policyLimited: this.keepalive?.limitedByPolicy ?? false,
        ...(this.sessionId === undefined ? {} : { sessionId: this.sessionId }),
        ...(away ? { away: true } : {}),
      },
      observedAt,
    );
    this.session = undefined;
    this.sessionId = undefined;
    this.replacing = undefined;
    this.keepalive?.stop();
    this.clearTimers();
    this.connectedSince = null;
    if (this.state === 'stopped') return;
    this.reconnects++;
    const serverGoingAway = reason === 'closed';
    if (serverGoingAway) {
      this.setState('waiting');
      this.timer = clock.setTimeout(() => this.connect(), this.backoff.next());
    } else {
      this.connect();
    }
  }
}
