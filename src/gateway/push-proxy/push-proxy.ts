import { join } from 'node:path';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { GatewayConfig } from '../../config/gateway-config.ts';
import type { Logger } from '../../log/logger.ts';
import { DeviceEndpoint } from './device-endpoint.ts';
import { SqliteDeviceStateStore } from './device-state-store.ts';
import type { StreamOpener } from './device-upstream.ts';
import type { DirectRelay, DirectRelayStatus } from './direct-relay.ts';
import { HoldQueue } from './hold-queue.ts';
import { SqliteHoldStore } from './hold-store.ts';
import { ProxiedDevice, type ProxiedDeviceStatus } from './proxied-device.ts';

const DAY_MS = 86_400_000;

/** The push proxy's settings, as the gateway config gives them. */
export type PushProxySettings = NonNullable<GatewayConfig['pushProxy']>;

export interface PushProxyOptions {
  settings: PushProxySettings;
  /** Where held pushes and the devices' states are kept (push-proxy.db). */
  stateDir: string;
  /** Opens a stream on one of the gateway's live push lines. */
  open: StreamOpener;
  clock: Clock;
  logger: Logger;
  backoff: { initialMs: number; maxMs: number };
  /**
   * Relays switched jobs' direct connections on the same listener; built apart from the proxy
   * because the gateway's jobs hand it their routes before the push lines the proxy uses exist.
   */
  relay: DirectRelay;
}

/** The push proxy for the status page: where it listens, and each device. */
export interface PushProxyStatus {
  listening: { host: string; port: number } | null;
  keepaliveMs: number;
  /** Connections refused since start (wrong token, unknown device, bad hello). */
  refused: number;
  held: { pushes: number; bytes: number };
  devices: ProxiedDeviceStatus[];
  /** Switched jobs' direct connections relayed to the cloud. */
  relay: DirectRelayStatus;
}

/**
 * The gateway's push proxy (docs/push-proxy.md): LAN devices keep their push connection to
 * the gateway, which answers their keep-alives itself and carries each device's pushes over
 * its own learned-keep-alive lines, holding them while the device sleeps. The same listener
 * relays switched jobs' direct connections for devices the site does not let out.
 */
export class PushProxy {
  private readonly options: PushProxyOptions;
  private readonly log: Logger;
  private readonly devices = new Map<string, ProxiedDevice>();
  private endpoint: DeviceEndpoint | undefined;
  private store: SqliteHoldStore | undefined;
  private states: SqliteDeviceStateStore | undefined;
  private queue: HoldQueue | undefined;
  private expiryTimer: TimerHandle | undefined;
  private port: number | null = null;
  /** Relays the direct connections of switched jobs for devices the site does not let out. */
  readonly relay: DirectRelay;

  constructor(options: PushProxyOptions) {
    this.options = options;
    this.log = options.logger.child({ part: 'push-proxy' });
    this.relay = options.relay;
  }

  /** The devices this gateway proxies (reported to the cloud in every hello). */
  deviceIds(): string[] {
    return this.options.settings.devices.map((d) => d.id);
  }

  /** Loads held pushes, opens the devices' streams and listens on the LAN; resolves with the port. */
  async start(): Promise<number> {
    const { settings, clock } = this.options;
    const file = join(this.options.stateDir, 'push-proxy.db');
    this.store = new SqliteHoldStore(file);
    const states = new SqliteDeviceStateStore(file);
    this.states = states;
    const recorded = states.load();
    const queue = new HoldQueue({
      clock,
      store: this.store,
      limits: { maxPerDevice: settings.hold.max, maxBytes: settings.hold.maxBytes, ttlMs: settings.hold.ttl },
    });
    this.queue = queue;
    for (const { id } of settings.devices) {
      const device = new ProxiedDevice({
        deviceId: id,
        queue,
        open: this.options.open,
        clock,
        logger: this.log,
        keepaliveMs: settings.lanKeepalive,
        ackTimeoutMs: settings.ackTimeout,
        backoff: this.options.backoff,
        onHeldChange: () => this.scheduleExpiry(),
        states,
        recorded: recorded.get(id),
      });
      this.devices.set(id, device);
    }
    this.sweep();
    this.endpoint = new DeviceEndpoint({
      host: settings.listen.host,
      port: settings.listen.port,
      tokens: new Map(settings.devices.map((d) => [d.id, d.token])),
      keepaliveMs: settings.lanKeepalive,
      clock,
      logger: this.log,
      onSession: (session, hello) => this.devices.get(hello.deviceId)?.attachSession(session, hello),
      onRequest: (req, res) => this.relay.handle(req, res),
    });
    this.port = await this.endpoint.listen();
    this.relay.listening(this.port);
    for (const device of this.devices.values()) device.connectUpstream();
    const { pushes } = queue.totals();
    this.log.info(
      {
        host: settings.listen.host,
        port: this.port,
        devices: this.devices.size,
        held: pushes,
        relay: this.relay.status().url,
      },
      'push proxy listening',
    );
    return this.port;
  }

  /** A push line may have come up: open the streams of devices that have none. */
  linesChanged(): void {
    for (const device of this.devices.values()) device.connectUpstream();
  }

  status(): PushProxyStatus {
    const { settings } = this.options;
    return {
      listening: this.port === null ? null : { host: settings.listen.host, port: this.port },
      keepaliveMs: settings.lanKeepalive,
      refused: this.endpoint?.refused ?? 0,
      held: this.queue?.totals() ?? { pushes: 0, bytes: 0 },
      devices: [...this.devices.values()].map((d) => d.status()),
      relay: this.relay.status(),
    };
  }

  async stop(): Promise<void> {
    this.options.clock.clearTimeout(this.expiryTimer);
    for (const device of this.devices.values()) device.stop();
    this.relay.listening(null);
    await this.endpoint?.close();
    this.store?.close();
    this.states?.close();
  }

  /** Expires what is due and sets the timer for the next expiry. */
  private sweep(): void {
    const queue = this.queue;
    if (!queue) return;
    const byDevice = Map.groupBy(queue.expire(), (p) => p.deviceId);
    for (const [deviceId, pushes] of byDevice) this.devices.get(deviceId)?.expired(pushes);
    this.scheduleExpiry();
  }

  private scheduleExpiry(): void {
    const { clock } = this.options;
    clock.clearTimeout(this.expiryTimer);
    const next = this.queue?.nextExpiry();
    if (next === undefined) return;
    // Node timers cannot wait past 24.8 days: a long hold.ttl is reached in daily steps.
    this.expiryTimer = clock.setTimeout(
      () => this.sweep(),
      Math.min(DAY_MS, Math.max(0, next - clock.now())),
    );
  }
}
