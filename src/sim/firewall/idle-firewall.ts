import { EventEmitter } from 'node:events';
import { type AddressInfo, createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import { type Logger, silentLogger } from '../../log/logger.ts';
import { formatHostPort, type HostPort } from './address.ts';

/** What the middlebox does with a packet of a connection it has forgotten. */
export type ExpiryMode = 'silent' | 'rst';
/** Why a connection was forgotten. */
export type ExpiryReason = 'idle' | 'lifetime' | 'blocked';
/** The two ends of a relayed connection, seen from the firewall. */
export type Side = 'client' | 'target';
/** Why the firewall itself reset a socket. */
export type ResetCause = 'expired' | 'cut';

export interface IdleFirewallOptions {
  /** Where to accept clients; port 0 picks a free port. */
  listen: HostPort;
  /** Where every accepted connection is relayed to. */
  target: HostPort;
  /** A connection with no byte in either direction for this long is forgotten. */
  idleTimeoutMs: number;
  onExpiry: ExpiryMode;
  /** When set, a connection this old is forgotten whatever its traffic. */
  lifetimeMs?: number;
  /**
   * When set, the line carries at most this many bytes per second each way, shared by all its
   * connections (a slow uplink); bytes wait at the sender, as TCP makes them.
   */
  rateBytesPerSec?: number;
  clock: Clock;
  logger?: Logger;
}

export interface FirewallStats {
  /** Client connections accepted since start. */
  accepted: number;
  /** Connections with at least one socket still open. */
  active: number;
  /** Connections forgotten (idle, lifetime, or black-holed while blocked). */
  expired: number;
  bytesForwarded: number;
  bytesSwallowed: number;
  /** Sockets the firewall itself reset (expiry in rst mode, cutAll). */
  resets: number;
}

export interface ConnectionEvent {
  id: number;
  /** The client's address, "HOST:PORT". */
  client: string;
}
export interface ExpiredEvent {
  id: number;
  reason: ExpiryReason;
  /** Time since the last byte in either direction. */
  idleMs: number;
  /** Time since the connection was accepted. */
  ageMs: number;
}
export interface SwallowedEvent {
  id: number;
  from: Side;
  bytes: number;
}
export interface ResetEvent {
  id: number;
  side: Side;
  cause: ResetCause;
}
export interface ClosedEvent {
  id: number;
  /** True when the connection had been forgotten before its sockets closed. */
  expired: boolean;
  ageMs: number;
}

/** Events of an IdleFirewall, for logs and for tests that wait instead of sleeping. */
export interface IdleFirewallEvents {
  connection: [ConnectionEvent];
  expired: [ExpiredEvent];
  swallowed: [SwallowedEvent];
  reset: [ResetEvent];
  closed: [ClosedEvent];
}

/** One relayed connection. */
interface Flow {
  id: number;
  sockets: Record<Side, Socket | undefined>;
  openedAt: number;
  lastActivity: number;
  timer: TimerHandle | undefined;
  /** Set once the firewall has forgotten the connection; never cleared. */
  expiry: { reason: ExpiryReason; mode: ExpiryMode } | undefined;
  /** Sockets of this connection not yet closed. */
  openSockets: number;
  /** Per source side: paused until the other side's socket drains. */
  waitingForDrain: Record<Side, boolean>;
  /** Per source side: paused until the line has capacity again (rateBytesPerSec). */
  waitingForLine: Record<Side, boolean>;
}

const OTHER: Record<Side, Side> = { client: 'target', target: 'client' };

/**
 * When a connection will be forgotten if nothing more happens, and why: whichever of the
 * idle deadline and the lifetime deadline comes first.
 */
export function nextExpiry(
  flow: { openedAt: number; lastActivity: number },
  limits: { idleTimeoutMs: number; lifetimeMs?: number | undefined },
): { at: number; reason: 'idle' | 'lifetime' } {
  const idleAt = flow.lastActivity + limits.idleTimeoutMs;
  if (limits.lifetimeMs === undefined) return { at: idleAt, reason: 'idle' };
  const lifetimeAt = flow.openedAt + limits.lifetimeMs;
  return idleAt <= lifetimeAt ? { at: idleAt, reason: 'idle' } : { at: lifetimeAt, reason: 'lifetime' };
}

/**
 * A TCP relay that behaves like a NAT, firewall or proxy that silently forgets idle
 * connections. Once forgotten, a connection's bytes are swallowed ('silent') or the
 * side that sends is reset ('rst'); the side that stays quiet is never told, as with a
 * real middlebox that answers only the packets it receives.
 */
export class IdleFirewall extends EventEmitter<IdleFirewallEvents> {
  private readonly options: IdleFirewallOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly server: Server;
  private readonly flows = new Map<number, Flow>();
  private readonly counters = { accepted: 0, expired: 0, bytesForwarded: 0, bytesSwallowed: 0, resets: 0 };
  private nextId = 1;
  private blocked = false;
  /** Per direction (by the side that sends): when the line is free again under rateBytesPerSec. */
  private readonly lineFreeAt: Record<Side, number> = { client: 0, target: 0 };
  private stopping: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  constructor(options: IdleFirewallOptions) {
    super();
    if (!(options.idleTimeoutMs > 0)) throw new RangeError('idleTimeoutMs must be a positive number of ms');
    if (options.lifetimeMs !== undefined && !(options.lifetimeMs > 0)) {
      throw new RangeError('lifetimeMs must be a positive number of ms when set');
    }
    if (options.rateBytesPerSec !== undefined && !(options.rateBytesPerSec > 0)) {
      throw new RangeError('rateBytesPerSec must be a positive number when set');
    }
    this.options = options;
    this.clock = options.clock;
    this.log = (options.logger ?? silentLogger()).child({ component: 'sim-firewall' });
    this.server = createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
    this.server.on('error', (err) => this.log.error({ err }, 'firewall listener failed'));
  }

  /** Starts listening; resolves with the address actually bound. */
  start(): Promise<HostPort> {
    const { host, port } = this.options.listen;
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const bound = this.server.address() as AddressInfo;
        const address = { host: bound.address, port: bound.port };
        this.log.info(
          { listen: formatHostPort(address), target: formatHostPort(this.options.target) },
          'firewall listening',
        );
        resolve(address);
      });
    });
  }

  /** Closes the listener and destroys every connection; safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /**
   * While blocked, every existing connection is forgotten (silently, whatever onExpiry
   * says) and new ones are accepted but black-holed. Unblocking lets new connections
   * through; the forgotten ones stay dead.
   */
  setBlocked(blocked: boolean): void {
    if (this.blocked === blocked) return;
    this.blocked = blocked;
    this.log.info(
      { blocked },
      blocked ? 'firewall blocking every line' : 'firewall letting new lines through',
    );
    if (blocked) for (const flow of this.flows.values()) this.expire(flow, 'blocked');
  }

  /** Resets both sides of every current connection now, as if the link were cut. */
  cutAll(): void {
    for (const flow of this.flows.values()) {
      this.reset(flow, 'client', 'cut');
      this.reset(flow, 'target', 'cut');
    }
  }

  /** Counters since construction; `active` counts connections not yet fully closed. */
  stats(): FirewallStats {
    return { ...this.counters, active: this.flows.size };
  }

  private accept(client: Socket): void {
    if (this.stopping) {
      client.destroy();
      return;
    }
    const now = this.clock.now();
    const flow: Flow = {
      id: this.nextId++,
      sockets: { client, target: undefined },
      openedAt: now,
      lastActivity: now,
      timer: undefined,
      expiry: undefined,
      openSockets: 0,
      waitingForDrain: { client: false, target: false },
      waitingForLine: { client: false, target: false },
    };
    this.flows.set(flow.id, flow);
    this.counters.accepted++;
    this.attach(flow, 'client', client);
    const peer = formatHostPort({ host: client.remoteAddress ?? '?', port: client.remotePort ?? 0 });
    this.log.info({ id: flow.id, client: peer }, 'connection accepted');
    this.emit('connection', { id: flow.id, client: peer });

    if (this.blocked) {
      this.expire(flow, 'blocked');
      return;
    }
    const target = createConnection({ ...this.options.target, allowHalfOpen: true });
    flow.sockets.target = target;
    this.attach(flow, 'target', target);
    this.arm(flow);
  }

  private attach(flow: Flow, side: Side, socket: Socket): void {
    flow.openSockets++;
    // A middlebox forwards each segment as it comes; Nagle's algorithm here would hold a small
    // write behind the peer's delayed ACK (~40 ms) where a real firewall adds nothing.
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(flow, side, chunk));
    socket.on('end', () => this.onEnd(flow, side));
    socket.on('error', (err) => this.log.debug({ id: flow.id, side, err: err.message }, 'socket error'));
    socket.on('close', (hadError) => this.onClose(flow, side, hadError));
  }

  private onData(flow: Flow, from: Side, chunk: Buffer): void {
    if (flow.expiry) {
      this.swallow(flow, from, chunk.length);
      return;
    }
    flow.lastActivity = this.clock.now();
    const source = flow.sockets[from] as Socket;
    const sink = flow.sockets[OTHER[from]] as Socket;
    this.counters.bytesForwarded += chunk.length;
    if (!sink.write(chunk) && !flow.waitingForDrain[from]) {
      flow.waitingForDrain[from] = true;
      source.pause();
      sink.once('drain', () => {
        flow.waitingForDrain[from] = false;
        if (!flow.waitingForLine[from]) source.resume();
      });
    }
    this.throttle(flow, from, source, chunk.length);
  }

  /**
   * A slow line (rateBytesPerSec): the chunk just sent occupies its direction for bytes/rate; the
   * sender is paused until the line is free again. Bursts are one socket read at most.
   */
  private throttle(flow: Flow, from: Side, source: Socket, bytes: number): void {
    const rate = this.options.rateBytesPerSec;
    if (rate === undefined) return;
    const now = this.clock.now();
    this.lineFreeAt[from] = Math.max(now, this.lineFreeAt[from]) + (bytes * 1000) / rate;
    const wait = this.lineFreeAt[from] - now;
    if (wait < 1 || flow.waitingForLine[from]) return;
    flow.waitingForLine[from] = true;
    source.pause();
    this.clock.setTimeout(() => {
      flow.waitingForLine[from] = false;
      if (!flow.waitingForDrain[from] && !source.destroyed) source.resume();
    }, wait);
  }

  private swallow(flow: Flow, from: Side, bytes: number): void {
    this.counters.bytesSwallowed += bytes;
    this.log.debug({ id: flow.id, from, bytes }, 'bytes swallowed');
    this.emit('swallowed', { id: flow.id, from, bytes });
    if (flow.expiry?.mode === 'rst') this.reset(flow, from, 'expired');
  }

  private onEnd(flow: Flow, from: Side): void {
    if (!flow.expiry) {
      flow.sockets[OTHER[from]]?.end();
      return;
    }
    // A FIN of a forgotten connection never reaches the other side. In rst mode it is
    // answered with RST; in silent mode the closing side's own socket is closed so the
    // simulation does not hold a descriptor per dead connection.
    if (flow.expiry.mode === 'rst') this.reset(flow, from, 'expired');
    else flow.sockets[from]?.destroy();
  }

  private onClose(flow: Flow, side: Side, hadError: boolean): void {
    const other = flow.sockets[OTHER[side]];
    // A live connection relays a peer's reset or refusal as a reset of the other side;
    // a clean close was already relayed as a FIN by onEnd.
    if (!flow.expiry && hadError && other && !other.destroyed) other.resetAndDestroy();
    if (--flow.openSockets > 0) return;
    this.clock.clearTimeout(flow.timer);
    this.flows.delete(flow.id);
    const ageMs = this.clock.now() - flow.openedAt;
    this.log.debug({ id: flow.id, expired: Boolean(flow.expiry), ageMs }, 'connection closed');
    this.emit('closed', { id: flow.id, expired: Boolean(flow.expiry), ageMs });
    if (this.flows.size === 0) this.drained?.();
  }

  private reset(flow: Flow, side: Side, cause: ResetCause): void {
    const socket = flow.sockets[side];
    if (!socket || socket.destroyed) return;
    socket.resetAndDestroy();
    this.counters.resets++;
    this.log.info({ id: flow.id, side, cause }, 'socket reset');
    this.emit('reset', { id: flow.id, side, cause });
  }

  /** One timer per connection, re-checked when it fires rather than re-armed per chunk. */
  private arm(flow: Flow): void {
    flow.timer = this.clock.setTimeout(() => {
      flow.timer = undefined;
      if (flow.expiry) return;
      const next = nextExpiry(flow, this.options);
      if (next.at <= this.clock.now()) this.expire(flow, next.reason);
      else this.arm(flow);
    }, nextExpiry(flow, this.options).at - this.clock.now());
  }

  private expire(flow: Flow, reason: ExpiryReason): void {
    if (flow.expiry) return;
    this.clock.clearTimeout(flow.timer);
    flow.timer = undefined;
    flow.expiry = { reason, mode: reason === 'blocked' ? 'silent' : this.options.onExpiry };
    this.counters.expired++;
    // Flowing again so that whatever arrives is swallowed instead of piling up.
    for (const socket of Object.values(flow.sockets)) if (socket && !socket.destroyed) socket.resume();
    const now = this.clock.now();
    const event = { id: flow.id, reason, idleMs: now - flow.lastActivity, ageMs: now - flow.openedAt };
    this.log.info({ ...event, mode: flow.expiry.mode }, 'connection forgotten');
    this.emit('expired', event);
  }

  private async shutdown(): Promise<void> {
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const allClosed =
      this.flows.size === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            this.drained = resolve;
          });
    for (const flow of this.flows.values()) {
      this.clock.clearTimeout(flow.timer);
      flow.sockets.client?.destroy();
      flow.sockets.target?.destroy();
    }
    await Promise.all([serverClosed, allClosed]);
    this.log.info(this.stats(), 'firewall stopped');
  }
}
