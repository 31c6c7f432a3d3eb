import type { Feature } from '../../lifecycle/feature.ts';
import type { CloudContext } from '../cloud-context.ts';
import type { DeviceRegistry } from '../devices/device-registry.ts';
import type { GatewayDirectory } from '../push/gateway-directory.ts';
import type { GatewayRegistry } from '../registry/gateway-registry.ts';
import type { DocumentSpool } from './document-spool.ts';
import { type JobFleet, JobRunner } from './job-runner.ts';
import type { JobStore } from './job-store.ts';

/**
 * The cloud's job runner. Started after the cloud's port: a switched job's device is given
 * the port's URL (unless `jobs.publicUrl` says otherwise), and the jobs a previous run left
 * are picked up.
 */
export class JobsFeature implements Feature {
  readonly name = 'jobs';
  readonly runner: JobRunner;

  constructor(
    ctx: CloudContext,
    deps: {
      store: JobStore;
      spool: DocumentSpool;
      devices: DeviceRegistry;
      directory: GatewayDirectory;
      gateways: GatewayRegistry;
      /** The cloud's port, started before the jobs. */
      listener: { readonly url: string };
      /** This node's name: the jobs it carries are marked with it. */
      node: string;
      /** The other nodes of a fleet, when there are. */
      fleet?: JobFleet | undefined;
    },
  ) {
    const { config, clock, logger } = ctx;
    const { listener } = deps;
    this.runner = new JobRunner({
      store: deps.store,
      spool: deps.spool,
      devices: deps.devices,
      directory: deps.directory,
      gateways: deps.gateways,
      node: deps.node,
      fleet: deps.fleet,
      clock,
      logger,
      maxBytes: config.jobs.maxBytes,
      directMode: config.jobs.directMode,
      publicUrl: () => config.jobs.publicUrl ?? listener.url,
      connectTimeoutMs: config.jobs.connectTimeout,
      directTimeoutMs: config.jobs.directTimeout,
      resumeWithinMs: config.jobs.resumeWithin,
    });
  }

  start(): Promise<void> {
    return this.runner.start();
  }

  stop(): void {
    this.runner.stop();
  }
}
