import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import type { DeviceStatus } from '../device-driver.ts';
import { type DeviceError, isDeviceError } from '../device-error.ts';
import { StatusTracker } from '../status-tracker.ts';
import { interpretPrinterMib, type SnmpSupplyLevel } from './printer-mib.ts';
import {
  type PrinterIndex,
  readScalars,
  readSupplies,
  scalarOids,
  supplyColumnOid,
} from './printer-mib-reply.ts';
import { SnmpClient } from './snmp-client.ts';

/** A DeviceStatus read over SNMP: supplies also say why a level is not a number. */
export interface SnmpDeviceStatus extends DeviceStatus {
  supplies?: SnmpSupplyLevel[];
}

export interface SnmpPollerOptions {
  /** Id of the device, for errors and logs. */
  id: string;
  host: string;
  /** Agent UDP port (default 161). */
  port?: number;
  /** SNMP v2c community (default 'public'). */
  community?: string;
  clock: Clock;
  /** Time from the end of one poll to the start of the next (default 60 s). */
  intervalMs?: number;
  /** How long one request waits for its reply (default 2 s). */
  timeoutMs?: number;
  /** Re-sends of an unanswered request (default 2), so a silent agent costs (retries + 1) × timeoutMs. */
  retries?: number;
  /** hrDeviceIndex of the printer in the agent's tables (default 1). */
  hrDeviceIndex?: number;
  /** prtMarkerIndex of the marker whose life count is the page meter (default 1). */
  markerIndex?: number;
  /** Called with every status a scheduled poll reads, offline ones included. */
  onStatus?: (status: SnmpDeviceStatus) => void;
  /** Called when a scheduled poll gets a reply it cannot use (MFP_DEV_ERR_MALFORMED_REPLY, _REJECTED). */
  onError?: (err: DeviceError) => void;
  logger?: Logger;
}

type Settings = Required<Omit<SnmpPollerOptions, 'onStatus' | 'onError' | 'logger'>>;

/**
 * Reads a printer's state, page meter and supplies over SNMP v2c (Host Resources and
 * Printer MIB) on a schedule. An agent that does not answer makes the device offline
 * (since the first poll that found it so); a reply that does not follow the MIB is an
 * error for onError and leaves the last status standing. Polls never overlap.
 */
export class SnmpPoller {
  readonly id: string;
  private readonly settings: Settings;
  private readonly options: SnmpPollerOptions;
  private readonly tracker: StatusTracker;
  private running = false;
  private timer: TimerHandle | undefined;
  private inFlight: Promise<SnmpDeviceStatus> | undefined;
  private abort = new AbortController();
  private last: SnmpDeviceStatus | undefined;

  constructor(options: SnmpPollerOptions) {
    this.id = options.id;
    this.options = options;
    this.settings = {
      id: options.id,
      host: options.host,
      port: options.port ?? 161,
      community: options.community ?? 'public',
      clock: options.clock,
      intervalMs: options.intervalMs ?? 60_000,
      timeoutMs: options.timeoutMs ?? 2_000,
      retries: options.retries ?? 2,
      hrDeviceIndex: options.hrDeviceIndex ?? 1,
      markerIndex: options.markerIndex ?? 1,
    };
    this.tracker = new StatusTracker(options.clock);
  }

  /** Changes the time between polls from the next one on (a power mode stretches it). */
  setIntervalMs(ms: number): void {
    this.settings.intervalMs = ms;
  }

  /** Polls at once and then every intervalMs after the previous poll ended, until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.tick();
  }

  /** Ends the schedule and abandons a poll in flight (its result is not reported). */
  async stop(): Promise<void> {
    this.running = false;
    this.settings.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    this.abort = new AbortController();
    await this.inFlight?.catch(() => {});
  }

  /**
   * Reads the device once now, or joins the poll already running. Resolves offline when the
   * agent does not answer; rejects with MFP_DEV_ERR_MALFORMED_REPLY or _REJECTED when it
   * answers something unusable, and with MFP_DEV_ERR_CLOSED when stop() abandons it.
   */
  poll(): Promise<SnmpDeviceStatus> {
    if (!this.inFlight) {
      const running = this.read(this.abort.signal);
      this.inFlight = running;
      const clear = (): void => {
        if (this.inFlight === running) this.inFlight = undefined;
      };
      running.then(clear, clear);
    }
    return this.inFlight;
  }

  /** The status of the last poll that reached a verdict, if any. */
  get latest(): SnmpDeviceStatus | undefined {
    return this.last;
  }

  private tick(): void {
    this.timer = undefined;
    this.poll().then(
      (status) => {
        if (!this.running) return;
        this.scheduleNext();
        this.options.onStatus?.(status);
      },
      (err: unknown) => {
        if (!this.running) return;
        this.scheduleNext();
        if (!isDeviceError(err)) throw err;
        this.options.logger?.warn({ device: this.id, code: err.code, err: err.message }, 'snmp poll failed');
        this.options.onError?.(err);
      },
    );
  }

  private scheduleNext(): void {
    this.timer = this.settings.clock.setTimeout(() => this.tick(), this.settings.intervalMs);
  }

  private async read(signal: AbortSignal): Promise<SnmpDeviceStatus> {
    const { host, port, community, clock, timeoutMs, retries, hrDeviceIndex, markerIndex } = this.settings;
    const at: PrinterIndex = { hrDeviceIndex, markerIndex };
    const client = new SnmpClient({
      deviceId: this.id,
      host,
      port,
      community,
      clock,
      timeoutMs,
      retries,
      signal,
    });
    let status: SnmpDeviceStatus;
    try {
      const scalars = readScalars(
        this.id,
        at,
        await client.get(scalarOids(at), 'the printer status objects'),
      );
      const description = await client.walk(supplyColumnOid('prtMarkerSuppliesDescription', at));
      const maxCapacity = await client.walk(supplyColumnOid('prtMarkerSuppliesMaxCapacity', at));
      const level = await client.walk(supplyColumnOid('prtMarkerSuppliesLevel', at));
      const supplies = readSupplies(this.id, at, { description, maxCapacity, level });
      status = this.tracker.observe(interpretPrinterMib({ ...scalars, supplies }));
    } catch (err) {
      // Offline for a silent or unreachable agent; anything else (malformed, closed) is thrown on.
      status = this.tracker.observeFailure(err);
    } finally {
      client.close();
    }
    this.last = status;
    return status;
  }
}
