import { join } from 'node:path';
import type { Feature } from '../../lifecycle/feature.ts';
import type { GatewayContext } from '../gateway-context.ts';
import { powerModesFrom, schedulePolicyFrom } from './power-config.ts';
import { PowerScheduler } from './power-scheduler.ts';

/** The power mode in force: follows the schedules, emits `power-mode`, applies a reload's `power`. */
export class PowerFeature implements Feature {
  readonly name = 'power';
  readonly scheduler: PowerScheduler;

  constructor(ctx: GatewayContext) {
    const { config, bus } = ctx;
    this.scheduler = new PowerScheduler({
      clock: ctx.clock,
      logger: ctx.logger.child({ part: 'power' }),
      policy: schedulePolicyFrom(config.power),
      modes: powerModesFrom(config.power),
      overrideFile: join(config.gateway.stateDir, 'power-override.json'),
      onChange: (state) => bus.emit('power-mode', state),
    });
    bus.on(this.name, 'config-reloaded', (next) =>
      this.scheduler.reconfigure(schedulePolicyFrom(next.power), powerModesFrom(next.power)),
    );
  }

  start(): void {
    this.scheduler.start();
  }

  stop(): void {
    this.scheduler.stop();
  }
}
