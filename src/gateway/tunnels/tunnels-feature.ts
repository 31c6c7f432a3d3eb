import type { Feature } from '../../lifecycle/feature.ts';
import type { GatewayContext } from '../gateway-context.ts';
import { TunnelAllowList } from './allow-list.ts';
import { type DeviceAddresses, type JobCarrier, TunnelEndpoint } from './tunnel-endpoint.ts';

/** The gateway's end of the tunnels: emits `tunnel-opened` and `tunnel-closed` (each record once). */
export class TunnelsFeature implements Feature {
  readonly name = 'tunnels';
  readonly endpoint: TunnelEndpoint;

  constructor(ctx: GatewayContext, deps: { devices: DeviceAddresses; jobs: JobCarrier }) {
    const { config, bus } = ctx;
    const allowList = new TunnelAllowList(config.tunnels.allow, { allowLocal: config.tunnels.allowLocal });
    const wide = allowList.wideRules();
    if (wide.length > 0) {
      ctx.logger.warn(
        { rules: wide },
        'tunnels.allow has very wide rules: the cloud may open tunnels to any address in them; list the devices’ subnets or addresses',
      );
    }
    if (config.tunnels.allowLocal) {
      ctx.logger.warn(
        'tunnels.allowLocal: the cloud may open tunnels to this gateway itself (loopback, its own addresses); use this in a lab only',
      );
    }
    this.endpoint = new TunnelEndpoint({
      allowList,
      devices: deps.devices,
      jobs: deps.jobs,
      maxConcurrent: config.tunnels.maxConcurrent,
      connectTimeoutMs: config.tunnels.connectTimeout,
      clock: ctx.clock,
      logger: ctx.logger,
    });
    this.endpoint.on('open', (tunnel) => bus.emit('tunnel-opened', tunnel));
    this.endpoint.on('close', (record) => bus.emit('tunnel-closed', record));
  }

  /** Tunnels are taken as the lines bring them: nothing to start. */
  start(): void {}

  stop(): void {}
}
