import { join } from 'node:path';
import type { Feature } from '../../lifecycle/feature.ts';
import type { GatewayContext } from '../gateway-context.ts';
import type { StatusPage } from '../status/status-page.ts';
import { CONTROL_SOCKET, type ControlServer, startControlServer } from './control-server.ts';
import { daemonReporter, type ReportSources } from './daemon-report.ts';

/** What the report reads: the daemon's parts, and its status page once that started. */
export type ControlSources = Omit<ReportSources, 'clock' | 'gatewayId' | 'statusPage'> & {
  statusPage: () => StatusPage | null;
};

/**
 * The daemon's local API, the control socket that `mfp-gateway status` reads
 * (docs/troubleshooting.md). Like the page, a window on the gateway: a socket it cannot
 * open is logged and the gateway runs on.
 */
export class ControlFeature implements Feature {
  readonly name = 'control';
  private readonly ctx: GatewayContext;
  private readonly sources: ControlSources;
  private server: ControlServer | null = null;

  constructor(ctx: GatewayContext, sources: ControlSources) {
    this.ctx = ctx;
    this.sources = sources;
  }

  /** Started after the status page, so that the report can say where it listens. */
  async start(): Promise<void> {
    const { ctx } = this;
    const { statusPage, ...parts } = this.sources;
    const pageUrl = (await statusPage()?.ready) ?? null;
    this.server = startControlServer({
      path: join(ctx.config.gateway.stateDir, CONTROL_SOCKET),
      logger: ctx.logger,
      report: daemonReporter({
        clock: ctx.clock,
        gatewayId: ctx.config.gateway.id,
        statusPage: pageUrl,
        ...parts,
      }),
    });
    await this.server.ready;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }
}
