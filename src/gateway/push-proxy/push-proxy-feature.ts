import type { Feature } from '../../lifecycle/feature.ts';
import type { GatewayContext } from '../gateway-context.ts';
import type { CloudAccess } from '../link/cloud-access.ts';
import type { StreamOpener } from './device-upstream.ts';
import { DirectRelay } from './direct-relay.ts';
import { PushProxy, type PushProxySettings } from './push-proxy.ts';

/**
 * The relay of switched jobs' direct connections, built before the push proxy (the jobs need
 * it, and the push lines the proxy needs carry the jobs).
 */
export function directRelayFor(
  ctx: GatewayContext,
  settings: PushProxySettings,
  access: CloudAccess,
): DirectRelay {
  return new DirectRelay({
    listenHost: settings.listen.host,
    relayUrl: settings.relayUrl,
    // A relayed direct connection leaves the site like the lines do: through the same proxy.
    agentFor: (url) => access.agentFor(url),
    ca: access.ca,
    clock: ctx.clock,
    logger: ctx.logger.child({ part: 'push-proxy' }),
  });
}

/** The LAN push proxy (docs/push-proxy.md): opens its devices' streams again on every `link-change`. */
export class PushProxyFeature implements Feature {
  readonly name = 'push-proxy';
  readonly proxy: PushProxy;
  private readonly ctx: GatewayContext;

  constructor(
    ctx: GatewayContext,
    deps: { settings: PushProxySettings; relay: DirectRelay; open: StreamOpener },
  ) {
    const { config } = ctx;
    this.ctx = ctx;
    this.proxy = new PushProxy({
      settings: deps.settings,
      stateDir: config.gateway.stateDir,
      open: deps.open,
      clock: ctx.clock,
      logger: ctx.logger,
      backoff: { initialMs: config.reconnect.initialDelay, maxMs: config.reconnect.maxDelay },
      relay: deps.relay,
    });
    ctx.bus.on(this.name, 'link-change', () => this.proxy.linesChanged());
  }

  async start(): Promise<void> {
    try {
      await this.proxy.start();
    } catch (err) {
      // Like the status page: without the proxy the gateway's own lines run on.
      this.ctx.logger.error(
        { err: (err as Error).message },
        'push proxy cannot start; check pushProxy.listen',
      );
    }
  }

  stop(): Promise<void> {
    return this.proxy.stop();
  }
}
