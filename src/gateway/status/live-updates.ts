import type { WebSocket } from 'ws';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import type { KeepaliveHistory } from './keepalive-history.ts';
import type { LogRing } from './log-ring.ts';
import { PATCH_SECTIONS, type StatusSections, type StatusSnapshot } from './status-model.ts';

export interface LiveUpdatesOptions {
  clock: Clock;
  logger: Logger;
  /** Never send more often than this, however fast things change. */
  minGapMs: number;
  /** Send at least this often while someone watches (uptime, CPU, memory move on their own). */
  refreshMs: number;
  /** Browsers watching at once; more are turned away. */
  maxClients: number;
  snapshot: () => StatusSnapshot;
  sections: () => StatusSections;
  history: KeepaliveHistory;
  logs: LogRing;
}

/** A client that lags this far behind is dropped; it reconnects and gets a fresh snapshot. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/**
 * Pushes the page's state to the browsers over WebSocket: a full snapshot on connect,
 * then patches — the sections that changed, and the chart points and log lines that are
 * new — at most once per minGap (changes in between go out together), and at least once
 * per refresh while anyone watches. The browser never polls.
 */
export class LiveUpdates {
  private readonly options: LiveUpdatesOptions;
  private readonly clients = new Set<WebSocket>();
  /** The sockets of each session, so that its end (logout) closes them. */
  private readonly bySession = new Map<string, Set<WebSocket>>();
  private readonly lastSections = new Map<string, string>();
  private lastHistorySeq = 0;
  private lastLogSeq = 0;
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private pending: TimerHandle | undefined;
  private refresh: TimerHandle | undefined;
  private stopped = false;

  constructor(options: LiveUpdatesOptions) {
    this.options = options;
  }

  /**
   * Takes a browser's socket: sends it the whole state, then keeps it up to date until its
   * session ends (expiry, or `endSession`: logout), when it is closed with 4001. null: no login.
   */
  attach(ws: WebSocket, session: { id: string; expiresAt: number } | null): void {
    if (this.stopped || this.clients.size >= this.options.maxClients) {
      ws.close(1013, 'too many status page viewers; try again later');
      return;
    }
    const snapshot = this.options.snapshot();
    if (this.clients.size === 0) {
      // Nobody watched since the last patch: compare the next one with this snapshot.
      for (const key of PATCH_SECTIONS) this.lastSections.set(key, JSON.stringify(snapshot[key]));
      this.lastHistorySeq = this.options.history.lastSeq;
      this.lastLogSeq = this.options.logs.lastSeq;
    }
    this.clients.add(ws);
    const { clock } = this.options;
    const expiry =
      session === null
        ? undefined
        : clock.setTimeout(() => ws.close(4001, 'session expired'), session.expiresAt - clock.now());
    if (session) {
      const set = this.bySession.get(session.id) ?? new Set();
      set.add(ws);
      this.bySession.set(session.id, set);
    }
    const forget = () => {
      clock.clearTimeout(expiry);
      this.clients.delete(ws);
      if (!session) return;
      const set = this.bySession.get(session.id);
      set?.delete(ws);
      if (set?.size === 0) this.bySession.delete(session.id);
    };
    ws.on('close', forget);
    ws.on('error', forget);
    this.send(ws, JSON.stringify({ type: 'snapshot', status: snapshot }));
    this.scheduleRefresh();
  }

  /** A session ended (logout, or dropped): its pages are closed with 4001 and go to the login. */
  endSession(id: string): void {
    for (const ws of this.bySession.get(id) ?? []) ws.close(4001, 'logged out');
  }

  /** Something the page shows may have changed. */
  noteChange(): void {
    if (this.stopped || this.clients.size === 0 || this.pending) return;
    const { clock, minGapMs } = this.options;
    const wait = Math.max(0, this.lastSentAt + minGapMs - clock.now());
    this.pending = clock.setTimeout(() => {
      this.pending = undefined;
      this.broadcast();
    }, wait);
  }

  /** Browsers watching now. */
  get viewers(): number {
    return this.clients.size;
  }

  stop(): void {
    this.stopped = true;
    this.options.clock.clearTimeout(this.pending);
    this.options.clock.clearTimeout(this.refresh);
    for (const ws of this.clients) ws.close(1001, 'gateway stopping');
    this.clients.clear();
  }

  private scheduleRefresh(): void {
    if (this.refresh || this.stopped) return;
    this.refresh = this.options.clock.setTimeout(() => {
      this.refresh = undefined;
      if (this.clients.size === 0) return;
      this.noteChange();
      this.scheduleRefresh();
    }, this.options.refreshMs);
  }

  private broadcast(): void {
    if (this.clients.size === 0) return;
    this.lastSentAt = this.options.clock.now();
    const status = this.options.sections();
    const sections: Record<string, unknown> = {};
    for (const key of PATCH_SECTIONS) {
      const text = JSON.stringify(status[key]);
      if (this.lastSections.get(key) === text) continue;
      this.lastSections.set(key, text);
      sections[key] = status[key];
    }
    const history = this.options.history.since(this.lastHistorySeq);
    this.lastHistorySeq = this.options.history.lastSeq;
    const logs = this.options.logs.since(this.lastLogSeq);
    this.lastLogSeq = this.options.logs.lastSeq;
    if (Object.keys(sections).length === 0 && !history.points.length && !history.drops.length && !logs.length)
      return;
    const message = JSON.stringify({ type: 'patch', sections, history, logs });
    for (const ws of this.clients) this.send(ws, message);
  }

  private send(ws: WebSocket, message: string): void {
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.options.logger.warn('status page viewer too slow to keep up; dropping it');
      ws.terminate();
      this.clients.delete(ws);
      return;
    }
    ws.send(message);
  }
}
