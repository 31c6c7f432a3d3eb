import type { Clock } from '../clock/clock.ts';
import type { DeviceState, DeviceStatus } from './device-driver.ts';
import { DeviceError } from './device-error.ts';

type Observed = Omit<DeviceStatus, 'since'>;

/** Remembers since when a device has been in its current state, across status reports. */
export class StatusTracker {
  private state: DeviceState | undefined;
  private since = 0;
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Stamps an observation with the time its state began (now, unless the state did not change). */
  observe(observed: Observed): DeviceStatus {
    if (observed.state !== this.state) {
      this.state = observed.state;
      this.since = this.clock.now();
    }
    return { ...observed, since: this.since };
  }

  /** An unreachable or silent device is offline; any other error is the caller's to handle. */
  observeFailure(err: unknown): DeviceStatus {
    if (
      err instanceof DeviceError &&
      (err.code === 'MFP_DEV_ERR_UNREACHABLE' || err.code === 'MFP_DEV_ERR_TIMEOUT')
    ) {
      return this.observe({ state: 'offline', reasons: ['offline'], message: err.message });
    }
    throw err;
  }

  /** The current state, or undefined before the first observation. */
  get current(): DeviceState | undefined {
    return this.state;
  }
}
