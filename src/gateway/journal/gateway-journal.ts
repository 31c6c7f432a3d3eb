import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { GatewayConfig } from '../../config/gateway-config.ts';
import type { Logger } from '../../log/logger.ts';
import type { TunnelRecord } from '../tunnels/tunnel-endpoint.ts';
import { type SyslogAddresses, SyslogIntake } from './syslog-intake.ts';
import { type DeviceLogEntry, TunnelJournal } from './tunnel-journal.ts';

/** Sender addresses the rate limiter remembers at once. */
const MAX_RATE_LIMITED_SOURCES = 1024;

export interface GatewayJournalContext {
  clock: Clock;
  logger: Logger;
  /** The SQLite file (in the state dir). */
  file: string;
  settings: GatewayConfig['journal'];
  /** Hands each record on for shipping (the MQTT log spool), as `{ kind: 'tunnel' | 'device-log', … }`. */
  forward: (record: Record<string, unknown>) => void;
}

/**
 * The journal feature: the store, the syslog intake that feeds it, retention on a schedule,
 * and forwarding of every record for shipping. A sink: nothing here calls back into tunnels.
 */
export class GatewayJournal {
  readonly store: TunnelJournal;
  /** The syslog intake, when journal.syslog is configured. */
  readonly syslog: SyslogIntake | null;
  /** After start: the syslog listeners' addresses, or null when off or they could not bind (logged). */
  ready: Promise<SyslogAddresses | null> = Promise.resolve(null);
  private readonly ctx: GatewayJournalContext;
  private readonly log: Logger;
  private retentionTimer: TimerHandle | undefined;

  constructor(ctx: GatewayJournalContext) {
    this.ctx = ctx;
    this.log = ctx.logger.child({ part: 'journal' });
    const { retention, syslog } = ctx.settings;
    this.store = new TunnelJournal({
      file: ctx.file,
      clock: ctx.clock,
      retention: {
        maxAgeMs: retention.maxAge,
        maxTunnelRecords: retention.maxTunnelRecords,
        maxDeviceLogs: retention.maxDeviceLogs,
      },
      onFlushError: (err, lost) =>
        this.log.error({ err: err.message, lost }, 'cannot store device log lines'),
    });
    this.syslog = syslog
      ? new SyslogIntake({
          clock: ctx.clock,
          logger: ctx.logger,
          udp: syslog.udp || null,
          tcp: syslog.tcp || null,
          maxMessageBytes: syslog.maxMessageSize,
          maxConnections: syslog.maxConnections,
          rateLimit: { ...syslog.rateLimit, maxSources: MAX_RATE_LIMITED_SOURCES },
          allowFrom: syslog.allowFrom,
          onEntry: (entry) => this.recordDeviceLog(entry),
        })
      : null;
  }

  /** Applies retention now and on schedule, and binds the syslog listeners (see `ready`). */
  start(): void {
    this.applyRetention();
    const syslog = this.syslog;
    if (!syslog) return;
    this.ready = syslog.start().catch((err: Error) => {
      // The rest of the gateway still works; devices' logs wait until the config is fixed.
      this.log.error(
        { err: err.message },
        'syslog intake not started: choose a free port of 1024 or above in journal.syslog (docs/journal.md)',
      );
      return null;
    });
  }

  /** Stores a finished tunnel and forwards it; never throws into the tunnel that finished. */
  recordTunnel(record: TunnelRecord): void {
    try {
      this.store.recordTunnel(record);
    } catch (err) {
      this.log.error({ err: (err as Error).message, jobId: record.jobId }, 'cannot store a tunnel record');
    }
    this.forward({ kind: 'tunnel', ...record });
  }

  /** Closes the listeners, commits what is pending and closes the file. */
  async stop(): Promise<void> {
    this.ctx.clock.clearTimeout(this.retentionTimer);
    this.retentionTimer = undefined;
    await this.syslog?.stop();
    this.store.close();
  }

  private recordDeviceLog(entry: DeviceLogEntry): void {
    this.store.recordDeviceLog(entry);
    this.forward({ kind: 'device-log', ...entry });
  }

  private forward(record: Record<string, unknown>): void {
    try {
      this.ctx.forward(record);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, kind: record.kind }, 'cannot forward a journal record');
    }
  }

  private applyRetention(): void {
    try {
      const deleted = this.store.prune();
      if (deleted.tunnels > 0 || deleted.deviceLogs > 0) this.log.info(deleted, 'journal retention applied');
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'journal retention failed; retried on schedule');
    }
    this.retentionTimer = this.ctx.clock.setTimeout(
      () => this.applyRetention(),
      this.ctx.settings.retention.every,
    );
  }
}
