import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { GatewayLoadReport } from '../../protocol/messages.ts';
import { CpuMeter, type CpuTimes, systemCpuTimes } from './cpu-meter.ts';
import { LineMeter } from './line-meter.ts';

/** How often the gateway samples its CPU and line. */
export const LOAD_SAMPLE_MS = 1_000;

export interface LoadMeterOptions {
  clock: Clock;
  /** Told the load after every sample. */
  onSample: (report: GatewayLoadReport) => void;
  /** The cores' cumulative times (injected by tests). */
  cpuTimes?: () => CpuTimes;
}

/**
 * The gateway's load, measured all the time (seed 001's CPU and line-speed triggers): samples
 * the CPU and closes a line-speed sample every second, and says so each time. Keep-alives, the
 * `load` message and telemetry carry what it reports.
 */
export class LoadMeter {
  /** Job tunnels tell it when they wait for data and what arrives. */
  readonly line: LineMeter;
  private readonly cpu: CpuMeter;
  private readonly clock: Clock;
  private readonly onSample: LoadMeterOptions['onSample'];
  private timer: TimerHandle | undefined;

  constructor(options: LoadMeterOptions) {
    this.clock = options.clock;
    this.onSample = options.onSample;
    this.cpu = new CpuMeter(options.cpuTimes ?? systemCpuTimes);
    this.line = new LineMeter({ clock: options.clock });
  }

  start(): void {
    if (this.timer) return;
    this.cpu.sample();
    const tick = () => {
      this.cpu.sample();
      this.line.sample();
      this.timer = this.clock.setTimeout(tick, LOAD_SAMPLE_MS);
      this.onSample(this.report());
    };
    this.timer = this.clock.setTimeout(tick, LOAD_SAMPLE_MS);
  }

  stop(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The load now. */
  report(): GatewayLoadReport {
    return { cpuUsage: this.cpu.usage(), lineBytesPerSec: this.line.bytesPerSec() };
  }
}
