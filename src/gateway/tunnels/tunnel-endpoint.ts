import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { pipeline } from 'node:stream';
import type { Clock } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import type { StreamRequest } from '../../tunnel/tunnel-mux.ts';
import type { TunnelStream } from '../../tunnel/tunnel-stream.ts';
import type { AllowVerdict, TunnelAllowList } from './allow-list.ts';

/** What the endpoint needs of the configured devices: raw tunnels may reach their addresses. */
export interface DeviceAddresses {
  isDeviceAddress(host: string, port: number): boolean;
}

/** What carries job tunnels (OPENs naming a device): the gateway's jobs. */
export interface JobCarrier {
  /** Whether an OPEN for this device would be taken. */
  check(deviceId: string): { allowed: true } | { allowed: false; reason: string };
  /** Takes one OPEN naming a device; `onRecord` receives its record when it closes. False: refused. */
  handle(request: StreamRequest, onRecord: (record: TunnelRecord) => void): boolean;
  /** Takes one command stream for a running job (no tunnel of its own). False: refused. */
  command(request: StreamRequest): boolean;
  /** The streams carrying jobs now. */
  activeTunnels(): ActiveTunnel[];
}

export interface TunnelEndpointOptions {
  allowList: TunnelAllowList;
  /** Configured devices: raw tunnels may reach their addresses. */
  devices?: DeviceAddresses;
  /** Carries job tunnels; without it they are refused. */
  jobs?: JobCarrier;
  maxConcurrent: number;
  connectTimeoutMs: number;
  clock: Clock;
  logger: Logger;
}

/** What one tunnel did, for the log. */
export interface TunnelRecord {
  jobId: string;
  target: string;
  openedAt: number;
  closedAt: number;
  bytesToDevice: number;
  bytesFromDevice: number;
  outcome: string;
  /** Job tunnels: when the device said its own connection to the cloud was up while this tunnel was open (seed 001's switch). */
  directUpAt?: number | null;
}

/** A tunnel relaying now, with its byte counts so far. */
export interface ActiveTunnel {
  /** Unique among the tunnels open at once: `job/<jobId>` or `raw/<n>`. */
  id: string;
  jobId: string;
  /** `device:<id>` for a job tunnel, `host:port` for a raw one. */
  target: string;
  openedAt: number;
  bytesToDevice: number;
  bytesFromDevice: number;
}

/** Tunnels since start, and the bytes they relayed (open ones included). */
export interface TunnelTotals {
  opened: number;
  bytesToDevice: number;
  bytesFromDevice: number;
}

/** A tunnel just accepted. */
export interface OpenedTunnel {
  jobId: string;
  target: string;
}

interface TunnelEvents {
  /** A tunnel was accepted and relays now. */
  open: [tunnel: OpenedTunnel];
  /** A tunnel finished: its record, once (the journal stores it). */
  close: [record: TunnelRecord];
}

/** A raw host:port relay in progress. */
interface Relay {
  jobId: string;
  target: string;
  openedAt: number;
  stream: TunnelStream;
}

/**
 * The gateway's end of the tunnels: checks each OPEN against the allow-list, connects to
 * the LAN device, and relays both ways with backpressure (pipeline). Refuses, never
 * crashes, on anything a peer or a device does wrong. Lists its open tunnels with their
 * byte counts and emits 'open' and 'close' for the status page.
 */
export class TunnelEndpoint extends EventEmitter<TunnelEvents> {
  private active = 0;
  private readonly options: TunnelEndpointOptions;
  private readonly log: Logger;
  private readonly relays = new Map<string, Relay>();
  private relaySeq = 0;
  /** Tunnels accepted, and bytes of the finished ones. */
  private readonly finished: TunnelTotals = { opened: 0, bytesToDevice: 0, bytesFromDevice: 0 };

  constructor(options: TunnelEndpointOptions) {
    super();
    this.options = options;
    this.log = options.logger.child({ part: 'tunnels' });
  }

  /** Tunnels currently relaying. */
  get activeCount(): number {
    return this.active;
  }

  /** The tunnels relaying now (job and raw), with live byte counts. */
  activeTunnels(): ActiveTunnel[] {
    const raw = [...this.relays].map(([id, r]) => ({
      id,
      jobId: r.jobId,
      target: r.target,
      openedAt: r.openedAt,
      bytesToDevice: r.stream.offsets.delivered,
      bytesFromDevice: r.stream.offsets.sent,
    }));
    return [...(this.options.jobs?.activeTunnels() ?? []), ...raw];
  }

  /** Tunnels accepted since start and the bytes relayed so far, open tunnels included (metrics). */
  totals(): TunnelTotals {
    const totals = { ...this.finished };
    for (const t of this.activeTunnels()) {
      totals.bytesToDevice += t.bytesToDevice;
      totals.bytesFromDevice += t.bytesFromDevice;
    }
    return totals;
  }

  /** Whether a tunnel to this target would be accepted (the tunnel-establishment command asks first). */
  check(target: { deviceId?: string; host?: string; port?: number }): AllowVerdict {
    if (target.deviceId !== undefined) {
      const verdict = this.options.jobs?.check(target.deviceId) ?? {
        allowed: false,
        reason: 'this gateway runs no jobs',
      };
      return verdict.allowed
        ? { allowed: true }
        : { allowed: false, code: 'NOT_ALLOWED', reason: verdict.reason };
    }
    if (target.host === undefined || target.port === undefined) {
      return {
        allowed: false,
        code: 'BAD_TARGET',
        reason: 'a target needs a deviceId, or a host and a port',
      };
    }
    if (this.options.devices?.isDeviceAddress(target.host, target.port)) return { allowed: true };
    return this.options.allowList.check(target.host, target.port);
  }

  /** Decides on one OPEN from the cloud. */
  handle(request: StreamRequest): void {
    const { target } = request;
    const verdict = this.check(target);
    if (!verdict.allowed) {
      this.refuse(request, verdict.code, verdict.reason);
      return;
    }
    const { jobs } = this.options;
    // A command for a running job is not a tunnel of its own: it is neither counted nor journalled.
    if (target.command !== undefined && jobs) {
      // The jobs part checks the command's fields (protocol/job/job-target.ts).
      jobs.command(request);
      return;
    }
    if (this.active >= this.options.maxConcurrent) {
      this.refuse(request, 'LIMIT', `already relaying ${this.active} tunnels`);
      return;
    }
    if (target.deviceId !== undefined && jobs) {
      this.active++;
      const taken = jobs.handle(request, (record) => {
        this.active--;
        this.closed(record);
      });
      if (!taken) this.active--;
      else this.opened(target.jobId, `device:${target.deviceId}`);
      return;
    }
    if (target.host === undefined || target.port === undefined) return;
    this.active++;
    this.relay(request, target.host, target.port);
  }

  private opened(jobId: string, target: string): void {
    this.finished.opened++;
    this.emit('open', { jobId, target });
  }

  private closed(record: TunnelRecord): void {
    this.finished.bytesToDevice += record.bytesToDevice;
    this.finished.bytesFromDevice += record.bytesFromDevice;
    this.emit('close', record);
  }

  private refuse(
    request: StreamRequest,
    code: 'NOT_ALLOWED' | 'BAD_TARGET' | 'LIMIT' | 'UNREACHABLE',
    reason: string,
  ): void {
    this.log.warn({ jobId: request.target.jobId, code }, `tunnel refused: ${reason}`);
    request.refuse(code, reason);
  }

  private relay(request: StreamRequest, host: string, port: number): void {
    const { clock } = this.options;
    const openedAt = clock.now();
    // A relay sends each frame's bytes on at once, as the cloud wrote them: with Nagle's
    // algorithm a request written in two pieces waits for the device's delayed ACK (~40 ms a
    // round trip; bench/tunnel-round-trip.ts). Go's relays (frp, chisel, cloudflared) do the same.
    const socket: Socket = connect({ host, port, noDelay: true });
    const timer = clock.setTimeout(
      () => socket.destroy(new Error(`no connection within ${this.options.connectTimeoutMs} ms`)),
      this.options.connectTimeoutMs,
    );
    const abort = () => socket.destroy(new Error('the cloud cancelled the tunnel'));
    request.signal.addEventListener('abort', abort, { once: true });
    let connected = false;
    socket.once('error', (err) => {
      // After connect, errors belong to the relay's pipelines.
      if (!connected) {
        clock.clearTimeout(timer);
        request.signal.removeEventListener('abort', abort);
        this.active--;
        this.refuse(request, 'UNREACHABLE', `${host}:${port}: ${err.message}`);
      }
    });
    socket.once('connect', () => {
      connected = true;
      clock.clearTimeout(timer);
      request.signal.removeEventListener('abort', abort);
      const stream = request.accept();
      const relayId = `raw/${++this.relaySeq}`;
      this.relays.set(relayId, { jobId: request.target.jobId, target: `${host}:${port}`, openedAt, stream });
      let finished = 0;
      let outcome = 'done';
      const done = (err?: Error | null) => {
        if (err && outcome === 'done') outcome = err.message;
        if (++finished < 2) return;
        this.active--;
        this.relays.delete(relayId);
        const record: TunnelRecord = {
          jobId: request.target.jobId,
          target: `${host}:${port}`,
          openedAt,
          closedAt: clock.now(),
          bytesToDevice: stream.offsets.delivered,
          bytesFromDevice: stream.offsets.sent,
          outcome,
        };
        this.log.info(record, 'tunnel closed');
        this.closed(record);
      };
      this.log.info({ jobId: request.target.jobId, target: `${host}:${port}` }, 'tunnel open');
      this.opened(request.target.jobId, `${host}:${port}`);
      // The frames of one line message arrive in one tick: cork so they leave in one writev,
      // not one syscall per 32 KiB frame (the gateway's CPU is the bottleneck, bench:tunnel).
      stream.on('data', () => {
        if (socket.writableCorked > 0) return;
        socket.cork();
        process.nextTick(() => socket.uncork());
      });
      pipeline(stream, socket, (err) => done(err));
      pipeline(socket, stream, (err) => done(err));
    });
  }
}
