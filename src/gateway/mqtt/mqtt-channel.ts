import type { MqttClient } from 'mqtt';
import type { Clock } from '../../clock/clock.ts';
import type { DeviceState } from '../../devices/device-driver.ts';
import type { SnmpSupplyLevel } from '../../devices/snmp/printer-mib.ts';
import type { Logger } from '../../log/logger.ts';
import type { GatewayLoadReport, Push } from '../../protocol/messages.ts';
import { decodeJson, mqttPushSchema } from '../../protocol/mqtt/push.ts';
import { AVAILABILITY, gatewayTopics, parseTopic, UNADDRESSED_REPLY } from '../../protocol/mqtt/topics.ts';
import { onDemand } from '../../runtime/on-demand.ts';
import type { DeviceSnapshot } from '../devices/device-monitor.ts';
import { type HostMetrics, hostMetrics } from '../host/host-metrics.ts';
import type { PowerMode } from '../keepalive/power-policy.ts';
import type { LinkStatus } from '../link/line-supervisor.ts';
import { describeProxy } from '../link/proxy.ts';
import type { PowerState } from '../power/power-scheduler.ts';
import {
  BrokerConnection,
  type BrokerConnectionOptions,
  type ConnectionStatus,
} from './broker-connection.ts';
import { brokerOptions, type MqttSettings } from './broker-options.ts';
import { type CommandActions, CommandHandler, powerResult } from './command-handler.ts';
import { DeviceStatePacer } from './device-states.ts';
import { LogShipper } from './log-shipper.ts';
import { LogSpool } from './log-spool.ts';
import { type KeepaliveSource, wantedKeepalive } from './mqtt-keepalive.ts';
import { TelemetryPacer } from './telemetry-pacer.ts';

/** What the channel reads from the rest of the gateway; it owns none of it. */
export interface MqttChannelContext {
  clock: Clock;
  logger: Logger;
  gatewayId: string;
  software: string;
  settings: MqttSettings;
  env: NodeJS.ProcessEnv;
  cloudProxy?: string;
  spoolFile: string;
  /** Reconnect backoff (the gateway's `reconnect` settings). */
  backoff: BrokerConnectionOptions['backoff'];
  link: () => LinkStatus;
  power: () => PowerState;
  /** Tunnels relayed now, and device jobs running through them. */
  tunnels: () => { active: number; jobs: number };
  /** Every configured device as last polled. */
  devices: () => DeviceSnapshot[];
  /** The gateway's measured CPU usage and line speed (seed 001's triggers). */
  load?: () => GatewayLoadReport;
  actions: Omit<CommandActions, 'statusSnapshot'>;
  /** Hands a push that came over MQTT to the gateway (deduplicated there); resolve to acknowledge. */
  onPush: (push: Push) => Promise<void>;
}

/** One device in telemetry: its state, and the meters read over SNMP when it has `snmp`. */
export interface DeviceTelemetry {
  id: string;
  driver: string;
  state: DeviceState | 'unknown';
  reasons: string[];
  since: string | null;
  lastSeen: string | null;
  pageCount: number | null;
  meters: { state: DeviceState; pageCount: number | null; supplies: SnmpSupplyLevel[] } | null;
}

/** One telemetry publication on `mfpgw/{gateway}/telemetry`. */
export interface Telemetry {
  gatewayId: string;
  at: string;
  links: { id: string; role: string; state: string; keepaliveMs: number | null; limitedByPolicy: boolean }[];
  linesUp: number;
  advice: { intervalMs: number; source: string; converged: boolean } | null;
  power: Record<string, unknown>;
  tunnels: { active: number; jobs: number };
  devices: DeviceTelemetry[];
  mqtt: { keepaliveS: number | null; keepaliveSource: KeepaliveSource | null; reconnects: number };
  host: HostMetrics;
  /** CPU usage and line speed as the gateway measures them all the time; null when not measured. */
  load: GatewayLoadReport | null;
  log: { spooled: number; dropped: number };
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** A device snapshot as telemetry reports it. */
export function deviceTelemetry(d: DeviceSnapshot): DeviceTelemetry {
  return {
    id: d.id,
    driver: d.driver,
    state: d.status?.state ?? 'unknown',
    reasons: d.status?.reasons ?? [],
    since: iso(d.status?.since),
    lastSeen: iso(d.lastSeen),
    pageCount: d.status?.pageCount ?? null,
    meters: d.meters
      ? { state: d.meters.state, pageCount: d.meters.pageCount ?? null, supplies: d.meters.supplies ?? [] }
      : null,
  };
}

/**
 * The gateway's MQTT side: availability (last will), retained status and device states,
 * management commands and replies, telemetry, log batches and the alternate push line. Never
 * exits on a broker outage: BrokerConnection reconnects, and logs wait in the durable spool.
 */
export class MqttChannel {
  private readonly ctx: MqttChannelContext;
  private readonly topics;
  private readonly client: MqttClient;
  private readonly connection: BrokerConnection;
  private readonly spool: LogSpool;
  private readonly shipper: LogShipper;
  private readonly pacer: TelemetryPacer;
  private readonly deviceStates: DeviceStatePacer;
  private readonly commands: CommandHandler;
  private readonly log: Logger;
  private lineStates = new Map<string, string>();
  private mode: PowerMode;

  constructor(ctx: MqttChannelContext) {
    this.ctx = ctx;
    this.log = ctx.logger.child({ part: 'mqtt' });
    this.topics = gatewayTopics(ctx.gatewayId);
    this.mode = ctx.power().mode;
    const { url, options, proxied } = brokerOptions(ctx.settings, ctx.gatewayId, {
      cloudProxy: ctx.cloudProxy,
      env: ctx.env,
    });
    this.client = onDemand('mqtt').connect(url, { ...options, manualConnect: true });
    this.connection = new BrokerConnection({
      clock: ctx.clock,
      logger: this.log,
      client: this.client,
      backoff: ctx.backoff,
      wanted: () => this.wantedKeepalive(),
      onConnect: () => this.onConnect(),
    });
    this.spool = new LogSpool(ctx.spoolFile, ctx.settings.log.maxRecords);
    this.shipper = new LogShipper({
      clock: ctx.clock,
      logger: this.log,
      spool: this.spool,
      client: this.client,
      topic: this.topics.log,
      gatewayId: ctx.gatewayId,
      batchSize: ctx.settings.log.batchSize,
      batchEveryMs: ctx.settings.log.batchEvery,
    });
    this.pacer = new TelemetryPacer({
      clock: ctx.clock,
      everyMs: ctx.settings.telemetry.every,
      minGapMs: ctx.settings.telemetry.minGap,
      publish: () => this.publishTelemetry(),
    });
    this.deviceStates = new DeviceStatePacer({
      clock: ctx.clock,
      minGapMs: ctx.settings.telemetry.minGap,
      snapshots: () => ctx.devices(),
      publish: (message) => {
        if (!this.client.connected) return false;
        this.publish(this.topics.deviceState(message.deviceId), JSON.stringify(message), true).catch(
          () => {},
        );
        return true;
      },
    });
    this.commands = new CommandHandler(ctx.clock, { ...ctx.actions, statusSnapshot: () => this.snapshot() });
    this.log.info(
      { broker: new URL(url).origin, proxy: proxied ? describeProxy(proxied) : null },
      'mqtt channel starting',
    );
  }

  /** Connects (and keeps reconnecting) to the broker. */
  start(): void {
    this.client.on('message', (topic, payload) => this.received(topic, payload));
    this.deviceStates.start();
    this.connection.start();
    this.shipper.start();
    this.pacer.start();
  }

  /** Marks the gateway offline (retained) and disconnects. */
  async stop(): Promise<void> {
    this.pacer.stop();
    this.deviceStates.stop();
    this.shipper.stop();
    await this.connection.stop(async () => {
      await this.publish(this.topics.availability, AVAILABILITY.offline, true);
    });
    this.spool.close();
  }

  /** Spools a log record (tunnel, device, link events) for the next batch. */
  append(record: Record<string, unknown>): void {
    this.shipper.append(record);
  }

  /** Something telemetry reports may have changed (lines, advice, power mode, devices). */
  noteChange(): void {
    const link = this.ctx.link();
    for (const line of link.lines) {
      if (this.lineStates.get(line.id) === line.state) continue;
      this.lineStates.set(line.id, line.state);
      this.append({ kind: 'line', line: line.id, role: line.role, state: line.state, error: line.lastError });
    }
    const mode = this.ctx.power().mode;
    const signature = JSON.stringify([
      link.lines.map((l) => [l.id, l.state]),
      link.advice?.intervalMs,
      link.advice?.source,
      mode.name,
      this.ctx.devices().map((d) => [d.id, d.status?.state, d.status?.reasons]),
    ]);
    this.pacer.noteState(signature);
    // Waking from a mode that keeps alive less often: do not wait out a backoff grown overnight.
    if (mode.minIntervalMs < this.mode.minIntervalMs)
      this.connection.wake(`power mode ${this.mode.name} -> ${mode.name}`);
    this.mode = mode;
    this.connection.reconsider();
  }

  /** A device's state changed: its retained state goes out (paced), and telemetry with it. */
  noteDevice(): void {
    this.deviceStates.noteChange();
    this.noteChange();
  }

  /** Applies new telemetry pacing (config reload). */
  setTelemetryPace(telemetry: MqttSettings['telemetry']): void {
    this.pacer.setPace(telemetry.every, telemetry.minGap);
    this.deviceStates.setMinGap(telemetry.minGap);
  }

  /** Whether the broker session is up. */
  get connected(): boolean {
    return this.client.connected;
  }

  /** The broker session: state, keep-alive in force, next attempt. */
  get session(): ConnectionStatus {
    return this.connection.status();
  }

  private wantedKeepalive() {
    const { mode } = this.ctx.power();
    const keepalive = wantedKeepalive({
      configuredMs: this.ctx.settings.keepalive,
      advice: this.ctx.link().advice,
      mode,
    });
    return { keepalive, mode };
  }

  private onConnect(): void {
    const t = this.topics;
    this.client.subscribe([t.commands, t.push], { qos: 1 }, (err) => {
      if (err) this.log.error({ err: err.message }, 'cannot subscribe to commands and pushes');
    });
    this.publish(t.availability, AVAILABILITY.online, true).catch(() => {});
    this.publish(t.status, JSON.stringify(this.status()), true).catch(() => {});
    this.pacer.requestNow();
    this.deviceStates.reconnected();
  }

  private received(topic: string, payload: Buffer): void {
    const parsed = parseTopic(topic);
    if (!parsed || parsed.gatewayId !== this.ctx.gatewayId) return;
    const [kind, name] = parsed.path;
    if (kind === 'cmd' && name) void this.command(name, payload);
    else if (kind === 'push' && parsed.path.length === 1) void this.push(payload);
  }

  private async command(name: string, payload: Buffer): Promise<void> {
    const reply = await this.commands.handle(name, payload);
    if (!reply) {
      this.log.debug({ command: name }, 'duplicate command ignored');
      return;
    }
    this.log.info({ command: name, id: reply.id, ok: reply.ok }, 'mqtt command handled');
    this.append({ kind: 'command', name, id: reply.id, ok: reply.ok, code: reply.ok ? null : reply.code });
    await this.publish(this.topics.reply(reply.id ?? UNADDRESSED_REPLY), JSON.stringify(reply), false).catch(
      (err: Error) => this.log.warn({ err: err.message }, 'cannot publish command reply'),
    );
  }

  private async push(payload: Buffer): Promise<void> {
    const push = decodeJson(mqttPushSchema, payload);
    if (!push) {
      this.log.warn('malformed push on the mqtt push topic; ignored');
      return;
    }
    try {
      await this.ctx.onPush({ type: 'push', ...push });
      await this.publish(this.topics.pushAck, JSON.stringify({ pushId: push.pushId }), false);
      this.log.info({ pushId: push.pushId }, 'push acknowledged over mqtt');
    } catch (err) {
      this.log.error({ err: (err as Error).message, pushId: push.pushId }, 'push over mqtt not acknowledged');
    }
  }

  private async publish(topic: string, body: string, retain: boolean): Promise<unknown> {
    await this.connection.ready();
    return this.client.publishAsync(topic, body, { qos: 1, retain });
  }

  private status(): Record<string, unknown> {
    const link = this.ctx.link();
    return {
      gatewayId: this.ctx.gatewayId,
      software: this.ctx.software,
      since: new Date(this.ctx.clock.now()).toISOString(),
      linesUp: link.linesUp,
      powerMode: this.ctx.power().mode.name,
    };
  }

  private telemetry(): Telemetry {
    const link = this.ctx.link();
    const session = this.connection.status();
    return {
      gatewayId: this.ctx.gatewayId,
      at: new Date(this.ctx.clock.now()).toISOString(),
      links: link.lines.map((l) => ({
        id: l.id,
        role: l.role,
        state: l.state,
        keepaliveMs: l.keepaliveMs,
        limitedByPolicy: l.limitedByPolicy,
      })),
      linesUp: link.linesUp,
      advice: link.advice
        ? { intervalMs: link.advice.intervalMs, source: link.advice.source, converged: link.advice.converged }
        : null,
      power: powerResult(this.ctx.power()),
      tunnels: this.ctx.tunnels(),
      devices: this.ctx.devices().map(deviceTelemetry),
      mqtt: {
        keepaliveS: session.keepalive?.seconds ?? null,
        keepaliveSource: session.keepalive?.source ?? null,
        reconnects: session.reconnects,
      },
      host: hostMetrics(),
      load: this.ctx.load?.() ?? null,
      log: { spooled: this.spool.size(), dropped: this.spool.dropped },
    };
  }

  private snapshot(): Record<string, unknown> {
    return {
      status: this.status(),
      telemetry: this.telemetry(),
      link: this.ctx.link(),
      mqtt: this.connection.status(),
    };
  }

  private publishTelemetry(): boolean {
    if (!this.client.connected) return false;
    this.publish(this.topics.telemetry, JSON.stringify(this.telemetry()), false).catch(() => {});
    this.publish(this.topics.status, JSON.stringify(this.status()), true).catch(() => {});
    return true;
  }
}
