import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { DeviceState } from '../../devices/device-driver.ts';
import type { DeviceSnapshot } from '../devices/device-monitor.ts';

/** The retained body of `mfpgw/{gateway}/devices/{device}/state`. */
export interface DeviceStateMessage {
  deviceId: string;
  driver: string;
  directCapable: boolean;
  /** 'unknown' until the device's first poll. */
  state: DeviceState | 'unknown';
  reasons: string[];
  /** Since when the device has been in `state` (ISO 8601), null when unknown. */
  since: string | null;
  message: string | null;
}

/** A device snapshot as its retained state message (no meters: they go out with telemetry). */
export function deviceStateMessage(snapshot: DeviceSnapshot): DeviceStateMessage {
  const { status } = snapshot;
  return {
    deviceId: snapshot.id,
    driver: snapshot.driver,
    directCapable: snapshot.directCapable,
    state: status?.state ?? 'unknown',
    reasons: status?.reasons ?? [],
    since: status ? new Date(status.since).toISOString() : null,
    message: status?.message ?? null,
  };
}

export interface DeviceStatePacerOptions {
  clock: Clock;
  /** Never publish device states more often than this, ms (changes in between are coalesced). */
  minGapMs: number;
  snapshots: () => DeviceSnapshot[];
  /** Publishes one device's retained state; false when it could not be handed to the broker. */
  publish: (message: DeviceStateMessage) => boolean;
}

/**
 * Decides WHEN each device's retained state goes out: after a change, at most once per
 * minGapMs for all devices together, and only for devices whose state differs from what the
 * broker last got from us. After a reconnect everything goes again (a broker without
 * persistence forgot its retained messages). No I/O: `publish` does the work.
 */
export class DeviceStatePacer {
  private readonly options: DeviceStatePacerOptions;
  /** device id → the body last published. */
  private readonly published = new Map<string, string>();
  private lastAt: number | null = null;
  private timer: TimerHandle | undefined;
  private running = false;

  constructor(options: DeviceStatePacerOptions) {
    this.options = options;
  }

  start(): void {
    this.running = true;
  }

  stop(): void {
    this.running = false;
    this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** A device's state may have changed. */
  noteChange(): void {
    if (!this.running || this.timer !== undefined) return;
    const { clock, minGapMs } = this.options;
    const at = this.lastAt === null ? clock.now() : Math.max(clock.now(), this.lastAt + minGapMs);
    this.timer = clock.setTimeout(() => this.flush(), at - clock.now());
  }

  /** The broker session is new: publish every device again. */
  reconnected(): void {
    this.published.clear();
    this.noteChange();
  }

  /** Shortens or lengthens the gap (config reload). */
  setMinGap(minGapMs: number): void {
    this.options.minGapMs = minGapMs;
  }

  private flush(): void {
    this.timer = undefined;
    if (!this.running) return;
    this.lastAt = this.options.clock.now();
    for (const snapshot of this.options.snapshots()) {
      const message = deviceStateMessage(snapshot);
      const body = JSON.stringify(message);
      if (this.published.get(message.deviceId) === body) continue;
      if (this.options.publish(message)) this.published.set(message.deviceId, body);
    }
  }
}
