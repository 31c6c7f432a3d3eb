import { join } from 'node:path';
import type { Feature } from '../../lifecycle/feature.ts';
import type { GatewayContext } from '../gateway-context.ts';
import { powerModesFrom, schedulePolicyFrom } from './power-config.ts';
import { PowerScheduler } from './power-scheduler.ts';

/** The power mode in force: follows the schedules, emits `power-mode`, applies a reload's `power`. */
export class PowerFeature implements Feature {
  readonly name = 'power';
  readonly scheduler: PowerScheduler;
  private readonly bus: GatewayContext['bus'];

  constructor(ctx: GatewayContext) {
    const { config, bus } = ctx;
    this.bus = bus;
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
    // The mode in force from the start is news too: the devices' SNMP pace and the telemetry
    // pace apply a mode's limits only when told, and starting in a mode is not a change.
    this.bus.emit('power-mode', this.scheduler.state());
  }

  stop(): void {
    this.scheduler.stop();
  }
}
