import type { IConnackPacket, MqttClient } from 'mqtt';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import { Backoff } from '../../retry/backoff.ts';
import type { PowerMode } from '../keepalive/power-policy.ts';
import { keepaliveInForce, type MqttKeepalive, renewalWanted } from './mqtt-keepalive.ts';

/** How long a keep-alive renewal waits for publications in flight before trying again, ms. */
export const RENEWAL_RETRY_MS = 1000;

/** What the broker session is doing. */
export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'renewing' | 'waiting' | 'stopped';

export interface BrokerConnectionOptions {
  clock: Clock;
  logger: Logger;
  /** Created with `manualConnect` and `reconnectPeriod: 0`: this class connects it. */
  client: MqttClient;
  backoff: { initialMs: number; maxMs: number; stableAfterMs: number; random?: () => number };
  /** The keep-alive to ask for now, and the power mode in force (read before every CONNECT). */
  wanted: () => { keepalive: MqttKeepalive; mode: PowerMode };
  /** The broker accepted the session (a new one: `clean` is set). */
  onConnect: () => void;
}

/** The broker session for status and telemetry. */
export interface ConnectionStatus {
  state: ConnectionState;
  /** The live session's keep-alive; null while there is none. */
  keepalive: MqttKeepalive | null;
  /** When the next attempt is due while waiting (ms since epoch), else null. */
  retryAt: number | null;
  reconnects: number;
}

/**
 * Keeps the gateway's broker session up (cloudflared's supervisor, for one MQTT session):
 * connects, reconnects with capped jittered backoff on the gateway's clock, reconnects at once
 * when the gateway wakes, and renews the session when the keep-alive it should have changed.
 * Never gives up: a broker outage or a refused login only lengthens the wait.
 */
export class BrokerConnection {
  private readonly options: BrokerConnectionOptions;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private state: ConnectionState = 'idle';
  private requested: MqttKeepalive | null = null;
  private serverKeepAlive: number | undefined;
  private retryTimer: TimerHandle | undefined;
  private retryAt: number | null = null;
  private stableTimer: TimerHandle | undefined;
  private renewalTimer: TimerHandle | undefined;
  private reconnects = 0;
  /** Publications waiting for a renewal to finish. */
  private readonly afterRenewal: (() => void)[] = [];

  constructor(options: BrokerConnectionOptions) {
    this.options = options;
    this.log = options.logger;
    this.backoff = new Backoff(options.backoff);
  }

  /** Connects now, and keeps reconnecting until stop. */
  start(): void {
    const { client } = this.options;
    client.on('connect', (connack) => this.connected(connack));
    client.on('close', () => this.closed());
    client.on('error', (err) => {
      // The broker closing the socket after our DISCONNECT is how a renewal ends, not a fault.
      if (this.state === 'renewing') this.log.debug({ err: err.message }, 'mqtt error while renewing');
      else this.log.warn({ err: err.message }, 'mqtt error');
    });
    this.connect();
  }

  /** Ends the session; `farewell` runs first while it is up (e.g. publishing "offline"). */
  async stop(farewell: () => Promise<void>): Promise<void> {
    const { client, clock } = this.options;
    const was = this.state;
    this.state = 'stopped';
    for (const t of [this.retryTimer, this.stableTimer, this.renewalTimer]) clock.clearTimeout(t);
    this.releaseWaiting();
    if (was === 'idle') return;
    if (was === 'connected') await farewell().catch(() => {});
    // Not connected: destroy a connection attempt in flight rather than queue a DISCONNECT.
    await client.endAsync(!client.connected);
  }

  status(): ConnectionStatus {
    return {
      state: this.state,
      keepalive: this.keepalive,
      retryAt: this.retryAt,
      reconnects: this.reconnects,
    };
  }

  /**
   * Resolves when a publication can be handed to the client: at once, except while the session
   * is being renewed (mqtt.js refuses publications while it disconnects; afterwards it queues
   * them until the broker accepts the new session).
   */
  ready(): Promise<void> {
    if (this.state !== 'renewing') return Promise.resolve();
    return new Promise((resolve) => this.afterRenewal.push(resolve));
  }

  /** The live session's keep-alive: the broker's Server Keep Alive when it sent one. */
  get keepalive(): MqttKeepalive | null {
    if (this.state !== 'connected' || !this.requested) return null;
    return keepaliveInForce(this.requested, this.serverKeepAlive);
  }

  /** The keep-alive the session should have may have changed: renews the session when worth it. */
  reconsider(): void {
    const inForce = this.keepalive;
    if (!inForce) return;
    const { keepalive, mode } = this.options.wanted();
    if (!renewalWanted(inForce, keepalive, mode)) return;
    const { client, clock } = this.options;
    if (Object.keys(client.outgoing).length > 0) {
      // A clean DISCONNECT waits for PUBACKs that a dying connection may never bring: wait here.
      clock.clearTimeout(this.renewalTimer);
      this.renewalTimer = clock.setTimeout(() => this.reconsider(), RENEWAL_RETRY_MS);
      return;
    }
    this.log.info(
      {
        fromS: inForce.seconds,
        fromSource: inForce.source,
        toS: keepalive.seconds,
        toSource: keepalive.source,
      },
      'renewing the mqtt session for a new keep-alive',
    );
    this.state = 'renewing';
    this.clearSessionTimers();
    // A normal DISCONNECT: the broker discards the last will, so availability stays "online".
    client.end(false, () => {
      if (this.state !== 'renewing') return;
      this.reconnects++;
      this.connect();
    });
  }

  /** The gateway woke (power mode): a session waiting out its backoff reconnects now. */
  wake(reason: string): void {
    if (this.state !== 'waiting') return;
    this.options.clock.clearTimeout(this.retryTimer);
    this.retryAt = null;
    this.backoff.reset();
    this.log.info({ reason }, 'reconnecting to the broker at once');
    this.reconnects++;
    this.connect();
  }

  private connect(): void {
    const { client } = this.options;
    this.requested = this.options.wanted().keepalive;
    this.serverKeepAlive = undefined;
    client.options.keepalive = this.requested.seconds;
    this.state = 'connecting';
    client.connect();
    this.releaseWaiting();
  }

  private releaseWaiting(): void {
    for (const resolve of this.afterRenewal.splice(0)) resolve();
  }

  private connected(connack: IConnackPacket): void {
    if (this.state === 'stopped') return;
    const { clock, backoff } = this.options;
    this.state = 'connected';
    this.serverKeepAlive = connack.properties?.serverKeepAlive;
    this.stableTimer = clock.setTimeout(() => this.backoff.reset(), backoff.stableAfterMs);
    const keepalive = this.keepalive;
    this.log.info(
      {
        keepaliveS: keepalive?.seconds,
        keepaliveSource: keepalive?.source,
        requestedS: this.requested?.seconds,
      },
      'mqtt connected',
    );
    this.options.onConnect();
    // The advice or the mode may have moved while we were connecting.
    this.reconsider();
  }

  private closed(): void {
    if (this.state === 'stopped' || this.state === 'renewing' || this.state === 'waiting') return;
    const { clock } = this.options;
    this.clearSessionTimers();
    const delay = this.backoff.next();
    this.state = 'waiting';
    this.retryAt = clock.now() + delay;
    this.log.info({ retryInMs: delay }, 'mqtt connection closed; reconnecting');
    this.retryTimer = clock.setTimeout(() => {
      this.retryAt = null;
      this.reconnects++;
      this.connect();
    }, delay);
  }

  private clearSessionTimers(): void {
    const { clock } = this.options;
    clock.clearTimeout(this.stableTimer);
    clock.clearTimeout(this.renewalTimer);
    this.stableTimer = undefined;
    this.renewalTimer = undefined;
  }
}
