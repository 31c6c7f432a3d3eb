import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { type AddressInfo, BlockList, createServer, isIP, isIPv4, type Server, type Socket } from 'node:net';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import { sourceKey } from '../../runtime/ip-address.ts';
import { type SourceRateLimit, SourceRateLimiter } from './source-rate-limiter.ts';
import {
  type FramedItem,
  SyslogFrameError,
  type SyslogFrameErrorCode,
  SyslogFramer,
} from './syslog-framer.ts';
import { parseSyslog, type SyslogErrorCode, type SyslogMessage, SyslogParseError } from './syslog-parser.ts';
import type { DeviceLogEntry } from './tunnel-journal.ts';

/** Where to listen; port 0 picks a free one (tests). */
export interface ListenAddress {
  host: string;
  port: number;
}

export interface SyslogIntakeOptions {
  clock: Clock;
  logger: Logger;
  /** RFC 5426 (one message per datagram); null: no UDP listener. */
  udp: ListenAddress | null;
  /** RFC 6587 (octet-counting or LF framing); null: no TCP listener. */
  tcp: ListenAddress | null;
  maxMessageBytes: number;
  maxConnections: number;
  rateLimit: SourceRateLimit;
  /** Sender address ranges accepted ("192.168.1.0/24"); empty: any sender. */
  allowFrom: readonly string[];
  /** Receives every well-formed message that passed the limits. */
  onEntry: (entry: DeviceLogEntry) => void;
}

/** What the intake did with what it received, since it started. */
export interface SyslogIntakeStats {
  accepted: number;
  /** UDP datagrams dropped over a sender's rate (TCP senders are slowed down instead). */
  rateLimited: number;
  /** Messages or connections from senders outside allowFrom. */
  notAllowed: number;
  /** Messages that could not be stored (the journal failed, e.g. a full card). */
  notStored: number;
  /** Malformed messages and frames, by code. */
  malformed: Partial<Record<SyslogErrorCode | SyslogFrameErrorCode, number>>;
}

/** Where the listeners ended up (after start). */
export interface SyslogAddresses {
  udp: AddressInfo | null;
  tcp: AddressInfo | null;
}

interface TcpSession {
  socket: Socket;
  source: string;
  /** The rate limit's wait before the queued messages go on. */
  timer: TimerHandle | undefined;
  /** Closes the connection when it stays silent (first message, then any). */
  idle: TimerHandle | undefined;
  lastActiveAt: number;
}

/** A TCP sender must send its first bytes within this time: a socket that says nothing is closed. */
export const FIRST_BYTES_TIMEOUT_MS = 30_000;
/** A TCP connection silent this long is closed (syslog senders reconnect when they have something to say). */
export const IDLE_TIMEOUT_MS = 15 * 60_000;
/** TCP connections at once from one sender address; a newer one closes its longest-silent one. */
export const MAX_CONNECTIONS_PER_SOURCE = 4;

/**
 * Receives devices' connection logs as RFC 5424 syslog over UDP and TCP on the LAN side.
 * Malformed input is counted and dropped, never thrown; each sender is rate limited (UDP
 * datagrams over the rate are dropped; a TCP sender is paused until it may send again, so TCP
 * loses nothing); TCP buffers are bounded by maxMessageBytes and maxConnections.
 */
export class SyslogIntake {
  private readonly options: SyslogIntakeOptions;
  private readonly log: Logger;
  private readonly limiter: SourceRateLimiter;
  private readonly allowed: BlockList | null;
  private readonly sessions = new Set<TcpSession>();
  private readonly warned = new Set<string>();
  private readonly counters: SyslogIntakeStats = {
    accepted: 0,
    rateLimited: 0,
    notAllowed: 0,
    notStored: 0,
    malformed: {},
  };
  private udp: UdpSocket | null = null;
  private tcp: Server | null = null;
  private stopped = false;

  constructor(options: SyslogIntakeOptions) {
    this.options = options;
    this.log = options.logger.child({ part: 'syslog' });
    this.limiter = new SourceRateLimiter(options.clock, options.rateLimit);
    this.allowed = options.allowFrom.length > 0 ? blockListOf(options.allowFrom) : null;
  }

  /** Binds the configured listeners; rejects (with nothing left open) if one cannot bind. */
  async start(): Promise<SyslogAddresses> {
    const { udp, tcp } = this.options;
    try {
      if (udp) this.udp = await this.bindUdp(udp);
      if (tcp) this.tcp = await this.listenTcp(tcp);
    } catch (err) {
      await this.stop();
      throw err;
    }
    const addresses = this.addresses();
    this.log.info(
      {
        udp: addresses.udp && `${addresses.udp.address}:${addresses.udp.port}`,
        tcp: addresses.tcp && `${addresses.tcp.address}:${addresses.tcp.port}`,
      },
      'syslog intake listening',
    );
    return addresses;
  }

  /** The bound addresses (null for a listener that is off or not bound). */
  addresses(): SyslogAddresses {
    return {
      udp: this.udp ? this.udp.address() : null,
      tcp: this.tcp ? (this.tcp.address() as AddressInfo) : null,
    };
  }

  /** A copy of the counters. */
  stats(): SyslogIntakeStats {
    return { ...this.counters, malformed: { ...this.counters.malformed } };
  }

  /** Closes the listeners and every TCP connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const session of this.sessions) {
      this.options.clock.clearTimeout(session.timer);
      this.options.clock.clearTimeout(session.idle);
      session.socket.destroy();
    }
    this.sessions.clear();
    const closing: Promise<unknown>[] = [];
    if (this.udp) closing.push(new Promise<void>((resolve) => this.udp?.close(() => resolve())));
    if (this.tcp?.listening) closing.push(new Promise((resolve) => this.tcp?.close(resolve)));
    this.udp = null;
    this.tcp = null;
    await Promise.all(closing);
  }

  private async bindUdp(at: ListenAddress): Promise<UdpSocket> {
    const socket = createSocket(isIP(at.host) === 6 ? 'udp6' : 'udp4');
    const bound = once(socket, 'listening');
    socket.bind({ address: at.host, port: at.port });
    await bound.catch((err: Error) => {
      socket.close();
      throw new Error(`cannot listen for syslog on UDP ${at.host}:${at.port}: ${err.message}`);
    });
    socket.on('error', (err) => this.log.warn({ err: err.message }, 'syslog UDP socket error'));
    socket.on('message', (datagram, peer) => this.datagram(datagram, sourceOf(peer.address)));
    return socket;
  }

  private async listenTcp(at: ListenAddress): Promise<Server> {
    // No server.maxConnections: it turns the newcomer away. connection() makes room instead.
    const server = createServer((socket) => this.connection(socket));
    const listening = once(server, 'listening');
    server.listen({ host: at.host, port: at.port });
    await listening.catch((err: Error) => {
      throw new Error(`cannot listen for syslog on TCP ${at.host}:${at.port}: ${err.message}`);
    });
    server.on('error', (err) => this.log.warn({ err: err.message }, 'syslog TCP listener error'));
    return server;
  }

  private datagram(datagram: Buffer, source: string): void {
    if (!this.admits(source)) return;
    if (this.limiter.take(source) > 0) {
      this.counters.rateLimited++;
      return;
    }
    if (datagram.length > this.options.maxMessageBytes) {
      this.malformed(
        source,
        new SyslogFrameError(
          'MFP_SYSLOG_ERR_FRAME_TOO_LARGE',
          `a datagram of ${datagram.length} bytes is over the limit of ${this.options.maxMessageBytes}`,
          false,
        ),
      );
      return;
    }
    this.accept(withoutTrailer(datagram), source, 'udp');
  }

  private connection(socket: Socket): void {
    const source = sourceOf(socket.remoteAddress ?? '');
    if (!this.admits(source)) {
      socket.destroy();
      return;
    }
    this.makeRoom(source);
    const { clock } = this.options;
    const session: TcpSession = {
      socket,
      source,
      timer: undefined,
      idle: undefined,
      lastActiveAt: clock.now(),
    };
    this.sessions.add(session);
    const armIdle = (ms: number, what: string) => {
      clock.clearTimeout(session.idle);
      session.idle = clock.setTimeout(() => {
        this.log.debug({ source }, `syslog TCP connection closed: ${what}`);
        socket.destroy();
      }, ms);
    };
    armIdle(FIRST_BYTES_TIMEOUT_MS, `nothing sent within ${FIRST_BYTES_TIMEOUT_MS} ms`);
    const framer = new SyslogFramer(this.options.maxMessageBytes);
    const queue: Buffer[] = [];
    // Messages already read are held while the sender is over its rate; the socket is paused
    // meanwhile, so at most one read's worth waits here and the sender's TCP window closes.
    const drain = () => {
      session.timer = undefined;
      if (this.stopped) return;
      for (let next = queue[0]; next !== undefined; next = queue[0]) {
        const wait = this.limiter.take(source);
        if (wait > 0) {
          socket.pause();
          session.timer = this.options.clock.setTimeout(drain, wait);
          return;
        }
        queue.shift();
        this.accept(next, source, 'tcp');
      }
      socket.resume();
    };
    const take = (items: FramedItem[]) => {
      for (const item of items) {
        if (item instanceof SyslogFrameError) {
          this.malformed(source, item);
          if (item.fatal) socket.destroy();
        } else {
          queue.push(item);
        }
      }
      if (!session.timer) drain();
    };
    // A bug met by some input ends this connection (logged), never the daemon.
    const guarded = (work: () => void) => {
      try {
        work();
      } catch (err) {
        this.log.error({ source, err: (err as Error).message }, 'syslog TCP connection failed; closed');
        socket.destroy();
      }
    };
    socket.on('data', (chunk: Buffer) => {
      session.lastActiveAt = clock.now();
      armIdle(IDLE_TIMEOUT_MS, `silent for ${IDLE_TIMEOUT_MS} ms`);
      guarded(() => take(framer.push(chunk)));
    });
    socket.on('end', () => guarded(() => take(framer.end())));
    socket.on('error', (err) => this.log.debug({ source, err: err.message }, 'syslog TCP connection error'));
    // Messages still queued when the sender hangs up are stored as the rate allows (drain's timer).
    socket.on('close', () => {
      clock.clearTimeout(session.idle);
      this.sessions.delete(session);
    });
  }

  /**
   * Past the bounds (per sender, and maxConnections in all) the newcomer is let in and the
   * longest-silent connection (of its sender first) closed: silent sockets cannot stop the
   * intake, and a sender that hangs on to a connection it does not use loses it first.
   */
  private makeRoom(source: string): void {
    const longestSilent = (list: TcpSession[]) =>
      list.reduce<TcpSession | undefined>(
        (a, b) => (a === undefined || b.lastActiveAt < a.lastActiveAt ? b : a),
        undefined,
      );
    const all = [...this.sessions];
    // Counted by /64 for IPv6: a host rotating its privacy addresses is one sender.
    const key = sourceKey(source);
    const own = all.filter((s) => sourceKey(s.source) === key);
    const victim =
      own.length >= MAX_CONNECTIONS_PER_SOURCE
        ? longestSilent(own)
        : all.length >= this.options.maxConnections
          ? longestSilent(all)
          : undefined;
    if (!victim) return;
    this.log.debug({ source: victim.source }, 'syslog TCP connection closed to make room for a newer one');
    this.options.clock.clearTimeout(victim.idle);
    this.sessions.delete(victim);
    victim.socket.destroy();
  }

  private admits(source: string): boolean {
    if (this.allowed === null || this.allowed.check(source, isIPv4(source) ? 'ipv4' : 'ipv6')) return true;
    this.counters.notAllowed++;
    this.warnOnce(
      `not-allowed ${source}`,
      { source },
      'syslog from a sender outside journal.syslog.allowFrom; dropped',
    );
    return false;
  }

  private accept(bytes: Buffer, source: string, transport: DeviceLogEntry['transport']): void {
    const parsed = parseSyslog(bytes);
    if (parsed instanceof SyslogParseError) {
      this.malformed(source, parsed);
      return;
    }
    try {
      this.options.onEntry(entryOf(parsed, source, transport, this.options.clock.now()));
      this.counters.accepted++;
    } catch (err) {
      this.counters.notStored++;
      this.log.error({ source, err: (err as Error).message }, 'cannot store a device log line');
    }
  }

  private malformed(source: string, error: SyslogParseError | SyslogFrameError): void {
    this.counters.malformed[error.code] = (this.counters.malformed[error.code] ?? 0) + 1;
    this.log.debug({ source, code: error.code }, error.message);
    this.warnOnce(
      `${error.code} ${source}`,
      { source, code: error.code },
      `malformed syslog dropped: ${error.message} (send RFC 5424; see docs/journal.md)`,
    );
  }

  /** Warns about a kind of problem from a sender once per run (then debug only), so a broken device cannot flood the log. */
  private warnOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.warned.has(key) || this.warned.size >= 1000) return;
    this.warned.add(key);
    this.log.warn(fields, message);
  }
}

/** The journal entry for a parsed message; a `jobId` SD-PARAM (in any element) names the job. */
export function entryOf(
  message: SyslogMessage,
  source: string,
  transport: DeviceLogEntry['transport'],
  receivedAt: number,
): DeviceLogEntry {
  const { timestamp, ...fields } = message;
  const jobId = fields.structuredData.flatMap((e) => e.params).find((p) => p.name === 'jobId')?.value ?? null;
  return { ...fields, receivedAt, source, transport, jobId, reportedAt: timestamp };
}

/** "::ffff:192.168.1.5" (an IPv4 sender on a dual-stack socket) → "192.168.1.5". */
function sourceOf(address: string): string {
  const mapped = address.startsWith('::ffff:') ? address.slice(7) : '';
  return isIPv4(mapped) ? mapped : address;
}

/** Many senders end a datagram with LF, CR LF or NUL, as if it were a stream; that is not part of MSG. */
function withoutTrailer(datagram: Buffer): Buffer {
  let end = datagram.length;
  while (end > 0 && [0x0a, 0x0d, 0x00].includes(datagram[end - 1] ?? -1)) end--;
  return datagram.subarray(0, end);
}

function blockListOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', prefix] = cidr.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(address, Number(prefix ?? (family === 'ipv6' ? 128 : 32)), family);
  }
  return list;
}
