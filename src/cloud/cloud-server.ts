import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../clock/clock.ts';
import { systemClock } from '../clock/system-clock.ts';
import type { CloudConfig } from '../config/cloud-config.ts';
import { ClientAddress } from '../http/client-address.ts';
import { namedFeature, startFeatures } from '../lifecycle/feature.ts';
import type { Logger } from '../log/logger.ts';
import { KeepaliveAdvisor } from './advisor/keepalive-advisor.ts';
import { requireApiToken } from './api/api-auth.ts';
import { registerDevicePushApi } from './api/device-push-api.ts';
import { registerDirectApi } from './api/direct-api.ts';
import { DirectStreamServer, isDirectStreamPath } from './api/direct-stream.ts';
import { gatewayLiveState } from './api/gateway-state.ts';
import { registerGatewaysApi } from './api/gateways-api.ts';
import { registerHttpApi } from './api/http-api.ts';
import { registerJobsApi } from './api/jobs-api.ts';
import { registerMetricsApi } from './api/metrics-api.ts';
import type { CloudContext } from './cloud-context.ts';
import { ClusterFeature } from './cluster/cluster-feature.ts';
import type { DeviceRegistry } from './devices/device-registry.ts';
import { HttpListener } from './http/http-listener.ts';
import type { JobRunner } from './jobs/job-runner.ts';
import type { JobStore } from './jobs/job-store.ts';
import { JobsFeature } from './jobs/jobs-feature.ts';
import { DEFAULT_LEARNING_CONFIG, type LearningConfig } from './learning/learning-config.ts';
import type { CloudMqttParts } from './mqtt/cloud-mqtt-setup.ts';
import { CloudMqttFeature } from './mqtt/mqtt-feature.ts';
import { EventLoopWatch } from './overload/event-loop-watch.ts';
import { GatewayDirectory } from './push/gateway-directory.ts';
import { PushDispatcher } from './push/push-dispatcher.ts';
import { PushServer } from './push/push-server.ts';
import { DevicePushDispatcher } from './push-proxy/device-push.ts';
import { ProxiedDevices } from './push-proxy/proxied-devices.ts';
import { type GatewayRegistry, seedGateways } from './registry/gateway-registry.ts';
import type { LearningStore } from './status/learning-store.ts';
import { StatusLogRetention } from './status/status-log-retention.ts';
import { openCloudStore } from './store/cloud-store.ts';

/** Maps the cloud config's keep-alive section onto the learner's tunables. */
export function learningConfigFrom(config: CloudConfig): LearningConfig {
  const k = config.keepalive;
  return {
    ...DEFAULT_LEARNING_CONFIG,
    defaultIntervalMs: k.default,
    minIntervalMs: k.min,
    maxIntervalMs: k.max,
    marginFraction: k.margin,
    windowMs: k.window,
    evidenceFloorMs: k.evidenceFloor,
    domainMinAgreeing: k.domainAgreeing,
    probeToleranceFraction: k.probeTolerance,
  };
}

/**
 * This node's name: `cluster.node`, else in a fleet the host name and port (unique per host,
 * the same across restarts, so a restarted node takes back its own jobs), else the host name.
 */
function nodeName(config: CloudConfig): string {
  if (!config.cluster) return hostname();
  if (config.cluster.node) return config.cluster.node;
  return `${hostname()}-${config.listen.port === 0 ? randomUUID().slice(0, 8) : config.listen.port}`;
}

/** A running reference cloud: push endpoint, HTTP API and status store. */
export interface CloudServer {
  readonly url: string;
  readonly port: number;
  readonly app: FastifyInstance;
  readonly push: PushServer;
  readonly dispatcher: PushDispatcher;
  readonly store: LearningStore;
  /** The cloud's own lateness (event-loop stalls). */
  readonly overload: EventLoopWatch;
  /** The registered gateways (seeded from the config, changed through the admin API). */
  readonly registry: GatewayRegistry;
  readonly jobs: JobRunner;
  readonly jobStore: JobStore;
  readonly devices: DeviceRegistry;
  /** LAN devices behind gateways' push proxies (docs/push-proxy.md). */
  readonly proxiedDevices: ProxiedDevices;
  /** The MQTT client (and embedded broker), when `mqtt` is configured. */
  readonly mqtt: CloudMqttParts | null;
  /** This node's name (the jobs it carries are marked with it). */
  readonly node: string;
  /** The fleet over NATS, when `cluster` is configured. */
  readonly cluster: ClusterFeature | null;
  stop(): Promise<void>;
}

/**
 * Starts the reference cloud server from a validated config: the cloud's composition root.
 * Opens the store (gateway registry, jobs, documents, devices), builds the parts, registers the
 * APIs on the one port, then starts the features in order (stores, MQTT, the port, the status
 * log's retention, the event-loop watch, the jobs) and stops them in reverse; the cloud needs
 * them all, so one that cannot start stops the others and fails the start.
 */
export async function startCloudServer(
  config: CloudConfig,
  deps: { logger: Logger; clock?: Clock },
): Promise<CloudServer> {
  const ctx: CloudContext = { config, clock: deps.clock ?? systemClock, logger: deps.logger };
  const { clock, logger: log } = ctx;
  const cloudStore = await openCloudStore(config.store, {
    documentsDir:
      config.jobs.spoolDir ??
      (config.store.path === ':memory:'
        ? join(process.cwd(), 'jobs')
        : join(dirname(config.store.path), 'jobs')),
    clock,
  });
  const registry = cloudStore.gateways;
  await seedGateways(registry, config.gateways, clock.now());
  // Opened first (the parts read the registry), closed last, after everything that writes it.
  const stores = { name: 'stores', start() {}, stop: () => cloudStore.close() };
  const store = cloudStore.learning;
  const { jobs: jobStore, devices, documents: spool } = cloudStore;
  const http = new HttpListener(ctx);
  const { app } = http;
  // Before any route: every route needs the API token but the few public ones.
  requireApiToken(app, config.api.token);
  const retention = new StatusLogRetention({
    store,
    clock,
    logger: log,
    keepMs: config.statusLog.keep,
    maxPerGateway: config.statusLog.maxPerGateway,
    everyMs: config.statusLog.pruneEvery,
  });
  const overload = new EventLoopWatch({ clock, logger: log });
  const directory = new GatewayDirectory(clock);
  const node = nodeName(config);
  const cluster = config.cluster ? new ClusterFeature(ctx, config.cluster, node, directory) : null;
  const advisor = new KeepaliveAdvisor({
    store,
    directory,
    config: learningConfigFrom(config),
    clock,
    logger: log,
    probeEnabled: config.keepalive.probe,
  });
  const proxiedDevices = new ProxiedDevices({ clock, logger: log, directory });
  const push = new PushServer({
    gateways: registry,
    store,
    directory,
    advisor,
    clock,
    logger: log,
    probeAckTimeoutMs: config.keepalive.probeAckTimeout,
    overload,
    clientAddress: new ClientAddress(config.listen.trustedProxies),
    onStream: (line, request) => proxiedDevices.accept(line, request),
    fleet: cluster ?? undefined,
  });
  const mqtt = config.mqtt ? new CloudMqttFeature(ctx, config.mqtt, registry) : null;
  const dispatcher = new PushDispatcher({
    server: push,
    clock,
    logger: log,
    ackTimeoutMs: config.push.ackTimeout,
    deadlineMs: config.push.deadline,
    alternate: mqtt ?? undefined,
    fleet: cluster ?? undefined,
  });
  registerHttpApi(app, { registry, store, dispatcher });
  registerGatewaysApi(app, {
    registry,
    liveState: gatewayLiveState({
      directory,
      advisor,
      store,
      clock,
      proxiedDevices: (id) => proxiedDevices.view(id),
    }),
    closeLines: async (id, reason) => {
      push.closeGateway(id, reason);
      cluster?.closeEverywhere(id, reason);
    },
    clock,
  });
  registerDevicePushApi(app, {
    registry,
    devices: proxiedDevices,
    dispatcher: new DevicePushDispatcher({
      devices: proxiedDevices,
      server: push,
      clock,
      logger: log,
      ackTimeoutMs: config.push.ackTimeout,
      deadlineMs: config.push.deadline,
    }),
  });
  const jobs = new JobsFeature(ctx, {
    store: jobStore,
    spool,
    devices,
    directory,
    gateways: registry,
    listener: http,
    node,
    fleet: cluster ?? undefined,
  });
  const { runner } = jobs;
  cluster?.serve({ push, dispatcher, runner, jobStore });
  registerJobsApi(app, { runner, store: jobStore, devices, maxUploads: config.jobs.maxUploads });
  registerMetricsApi(app, { overload, advisor });
  registerDirectApi(app, { runner, spool });
  http.upgrade(isDirectStreamPath, new DirectStreamServer({ runner, spool, logger: log }));
  http.upgrade(() => true, push);
  const started = await startFeatures(
    [
      stores,
      cluster,
      mqtt,
      http,
      namedFeature('status-log-retention', retention),
      namedFeature('event-loop-watch', overload),
      jobs,
    ].filter((f) => f !== null),
    { logger: log, allNeeded: true },
  );
  log.info(
    {
      url: http.url,
      store: cloudStore.kind === 'postgres' ? 'postgres' : config.store.path,
      ...(cluster ? { node, nats: config.cluster?.nats } : {}),
    },
    'cloud listening',
  );
  return {
    url: http.url,
    port: http.port,
    app,
    push,
    dispatcher,
    store,
    registry,
    overload,
    jobs: runner,
    jobStore,
    devices,
    proxiedDevices,
    mqtt: mqtt?.parts ?? null,
    node,
    cluster,
    stop: () => started.stop(),
  };
}
