import type { Feature } from '../../lifecycle/feature.ts';
import type { GatewayContext } from '../gateway-context.ts';
import { LoadMeter } from './load-meter.ts';

/** The gateway's CPU usage and line speed, sampled every second: emits `load-sample` (seed 001's triggers). */
export class LoadFeature implements Feature {
  readonly name = 'load';
  readonly meter: LoadMeter;

  constructor(ctx: GatewayContext) {
    this.meter = new LoadMeter({
      clock: ctx.clock,
      onSample: (report) => ctx.bus.emit('load-sample', report),
    });
  }

  start(): void {
    this.meter.start();
  }

  stop(): void {
    this.meter.stop();
  }
}
