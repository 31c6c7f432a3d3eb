import type { Feature } from '../../lifecycle/feature.ts';
import type { DeviceRegistry } from '../devices/device-registry.ts';
import type { GatewayContext } from '../gateway-context.ts';
import { JobTunnels, type JobTunnelsOptions } from './job-tunnels.ts';

/** Jobs the cloud sends to devices through tunnels; stopping fails the ones still running. */
export class JobsFeature implements Feature {
  readonly name = 'jobs';
  readonly jobs: JobTunnels;

  constructor(
    ctx: GatewayContext,
    deps: {
      devices: DeviceRegistry;
      relayDirect?: JobTunnelsOptions['relayDirect'];
      lineMeter?: JobTunnelsOptions['lineMeter'];
    },
  ) {
    const { config } = ctx;
    this.jobs = new JobTunnels({
      devices: deps.devices,
      clock: ctx.clock,
      logger: ctx.logger,
      resumeGraceMs: config.jobs.resumeGrace,
      maxJobs: config.jobs.maxConcurrent,
      relayDirect: deps.relayDirect,
      lineMeter: deps.lineMeter,
    });
  }

  start(): void {}

  stop(): void {
    this.jobs.close();
  }
}
