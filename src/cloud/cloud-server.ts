import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Clock } from '../clock/clock.ts';
import { systemClock } from '../clock/system-clock.ts';
import type { CloudConfig } from '../config/cloud-config.ts';
import type { Logger } from '../log/logger.ts';
import { KeepaliveAdvisor } from './advisor/keepalive-advisor.ts';
import { registerDevicePushApi } from './api/device-push-api.ts';
import { registerDirectApi } from './api/direct-api.ts';
import { DirectStreamServer, isDirectStreamPath } from './api/direct-stream.ts';
import { gatewayLiveState } from './api/gateway-state.ts';
import { registerGatewaysApi } from './api/gateways-api.ts';
import { registerHttpApi } from './api/http-api.ts';
import { registerJobsApi } from './api/jobs-api.ts';
import { registerMetricsApi } from './api/metrics-api.ts';
import type { DeviceRegistry } from './devices/device-registry.ts';
import { JobRunner } from './jobs/job-runner.ts';
import type { JobStore } from './jobs/job-store.ts';
import { DEFAULT_LEARNING_CONFIG, type LearningConfig } from './learning/learning-config.ts';
import { type CloudMqttParts, startCloudMqtt } from './mqtt/cloud-mqtt-setup.ts';
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
  stop(): Promise<void>;
}

/** Starts the reference cloud server from a validated config. */
export async function startCloudServer(
  config: CloudConfig,
  deps: { logger: Logger; clock?: Clock },
): Promise<CloudServer> {
  const clock = deps.clock ?? systemClock;
  const log = deps.logger;
  const https = config.tls
    ? { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) }
    : null;
  const app = (https ? Fastify({ https, logger: false }) : Fastify({ logger: false })) as FastifyInstance;
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
  const store = cloudStore.learning;
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
    probeAckTimeoutMs: config.push.ackTimeout,
    overload,
    onStream: (line, request) => proxiedDevices.accept(line, request),
  });
  const mqtt = config.mqtt
    ? await startCloudMqtt(config, config.mqtt, { clock, logger: log, gateways: registry })
    : null;
  const dispatcher = new PushDispatcher({
    server: push,
    clock,
    logger: log,
    ackTimeoutMs: config.push.ackTimeout,
    deadlineMs: config.push.deadline,
    alternate: mqtt?.client,
  });
  registerHttpApi(app, { apiToken: config.api.token, registry, store, dispatcher });
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
  const { jobs: jobStore, devices, documents: spool } = cloudStore;
  let url = '';
  const jobs = new JobRunner({
    store: jobStore,
    spool,
    devices,
    directory,
    gateways: registry,
    node: hostname(),
    clock,
    logger: log,
    maxBytes: config.jobs.maxBytes,
    directMode: config.jobs.directMode,
    publicUrl: () => config.jobs.publicUrl ?? url,
    connectTimeoutMs: config.jobs.connectTimeout,
    directTimeoutMs: config.jobs.directTimeout,
    resumeWithinMs: config.jobs.resumeWithin,
  });
  registerJobsApi(app, { runner: jobs, store: jobStore, devices });
  registerMetricsApi(app, { overload });
  registerDirectApi(app, { runner: jobs, spool });
  const directStream = new DirectStreamServer({ runner: jobs, spool, logger: log });
  app.server.on('upgrade', (req, socket, head) => {
    if (isDirectStreamPath(req.url)) directStream.handleUpgrade(req, socket, head);
    else push.handleUpgrade(req, socket, head);
  });
  await app.listen({ host: config.listen.host, port: config.listen.port });
  const address = app.server.address() as AddressInfo;
  const scheme = https ? 'https' : 'http';
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  url = `${scheme}://${host}:${address.port}`;
  await jobs.start();
  overload.start();
  retention.start();
  log.info(
    { url, store: cloudStore.kind === 'postgres' ? 'postgres' : config.store.path },
    'cloud listening',
  );
  return {
    url,
    port: address.port,
    app,
    push,
    dispatcher,
    store,
    registry,
    overload,
    jobs,
    jobStore,
    devices,
    proxiedDevices,
    mqtt,
    async stop() {
      jobs.stop();
      overload.stop();
      await retention.stop();
      push.closeAll();
      directStream.closeAll();
      await app.close();
      await mqtt?.stop();
      await cloudStore.close();
    },
  };
}
