import mqtt, { type MqttClient } from 'mqtt';
import type { Clock } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import type { Push } from '../../protocol/messages.ts';
import { decodeJson, mqttPushSchema } from '../../protocol/mqtt/push.ts';
import { AVAILABILITY, gatewayTopics, parseTopic, UNADDRESSED_REPLY } from '../../protocol/mqtt/topics.ts';
import { type HostMetrics, hostMetrics } from '../host/host-metrics.ts';
import type { LinkStatus } from '../link/line-supervisor.ts';
import { describeProxy } from '../link/proxy.ts';
import type { PowerState } from '../power/power-scheduler.ts';
import { brokerOptions, keepaliveSeconds, type MqttSettings } from './broker-options.ts';
import { type CommandActions, CommandHandler, powerResult } from './command-handler.ts';
import { LogShipper } from './log-shipper.ts';
import { LogSpool } from './log-spool.ts';
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
  link: () => LinkStatus;
  power: () => PowerState;
  actions: Omit<CommandActions, 'statusSnapshot'>;
  /** Hands a push that came over MQTT to the gateway (deduplicated there); resolve to acknowledge. */
  onPush: (push: Push) => Promise<void>;
}

/** One telemetry publication on `mfpgw/{gateway}/telemetry`. */
export interface Telemetry {
  gatewayId: string;
  at: string;
  links: { id: string; role: string; state: string; keepaliveMs: number | null; limitedByPolicy: boolean }[];
  linesUp: number;
  advice: { intervalMs: number; source: string; converged: boolean } | null;
  power: Record<string, unknown>;
  host: HostMetrics;
  log: { spooled: number; dropped: number };
}

/**
 * The gateway's MQTT side: availability (last will), retained status, management commands
 * and replies, telemetry, log batches and the alternate push line. Never exits on a broker
 * outage: mqtt.js reconnects, and logs wait in the durable spool.
 */
export class MqttChannel {
  private readonly ctx: MqttChannelContext;
  private readonly topics;
  private readonly client: MqttClient;
  private readonly spool: LogSpool;
  private readonly shipper: LogShipper;
  private readonly pacer: TelemetryPacer;
  private readonly commands: CommandHandler;
  private readonly log: Logger;
  private lineStates = new Map<string, string>();

  constructor(ctx: MqttChannelContext) {
    this.ctx = ctx;
    this.log = ctx.logger.child({ part: 'mqtt' });
    this.topics = gatewayTopics(ctx.gatewayId);
    const { url, options, proxied } = brokerOptions(ctx.settings, ctx.gatewayId, {
      cloudProxy: ctx.cloudProxy,
      env: ctx.env,
    });
    this.client = mqtt.connect(url, { ...options, manualConnect: true });
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
    this.commands = new CommandHandler(ctx.clock, { ...ctx.actions, statusSnapshot: () => this.snapshot() });
    this.log.info(
      { broker: new URL(url).origin, proxy: proxied ? describeProxy(proxied) : null },
      'mqtt channel starting',
    );
  }

  /** Connects (and keeps reconnecting) to the broker. */
  start(): void {
    const { client } = this;
    client.on('connect', (connack) => this.onConnect(connack.sessionPresent));
    client.on('close', () => this.log.debug('mqtt connection closed; reconnecting'));
    client.on('error', (err) => this.log.warn({ err: err.message }, 'mqtt error'));
    client.on('message', (topic, payload) => this.received(topic, payload));
    client.connect();
    this.shipper.start();
    this.pacer.start();
  }

  /** Marks the gateway offline (retained) and disconnects. */
  async stop(): Promise<void> {
    this.pacer.stop();
    this.shipper.stop();
    if (this.client.connected) {
      await this.publish(this.topics.availability, AVAILABILITY.offline, true).catch(() => {});
    }
    await this.client.endAsync();
    this.spool.close();
  }

  /** Spools a log record (tunnel, device, link events) for the next batch. */
  append(record: Record<string, unknown>): void {
    this.shipper.append(record);
  }

  /** Something telemetry reports may have changed. */
  noteChange(): void {
    const link = this.ctx.link();
    for (const line of link.lines) {
      if (this.lineStates.get(line.id) === line.state) continue;
      this.lineStates.set(line.id, line.state);
      this.append({ kind: 'line', line: line.id, role: line.role, state: line.state, error: line.lastError });
    }
    const signature = JSON.stringify([
      link.lines.map((l) => [l.id, l.state]),
      link.advice?.intervalMs,
      link.advice?.source,
      this.ctx.power().mode.name,
    ]);
    this.pacer.noteState(signature);
    // The MQTT keep-alive follows the learned interval from the next (re)connect on; a
    // Server Keep Alive in the broker's CONNACK still wins (mqtt.js applies it).
    if (link.advice) this.client.options.keepalive = keepaliveSeconds(link.advice.intervalMs);
  }

  /** Whether the broker session is up. */
  get connected(): boolean {
    return this.client.connected;
  }

  private onConnect(sessionPresent: boolean): void {
    this.log.info({ sessionPresent }, 'mqtt connected');
    const t = this.topics;
    this.client.subscribe([t.commands, t.push], { qos: 1 }, (err) => {
      if (err) this.log.error({ err: err.message }, 'cannot subscribe to commands and pushes');
    });
    this.publish(t.availability, AVAILABILITY.online, true).catch(() => {});
    this.publish(t.status, JSON.stringify(this.status()), true).catch(() => {});
    this.pacer.requestNow();
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

  private publish(topic: string, body: string, retain: boolean): Promise<unknown> {
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
      host: hostMetrics(),
      log: { spooled: this.spool.size(), dropped: this.spool.dropped },
    };
  }

  private snapshot(): Record<string, unknown> {
    return {
      status: this.status(),
      telemetry: this.telemetry(),
      link: this.ctx.link(),
      mqtt: { connected: true },
    };
  }

  private publishTelemetry(): void {
    if (!this.client.connected) return;
    this.publish(this.topics.telemetry, JSON.stringify(this.telemetry()), false).catch(() => {});
    this.publish(this.topics.status, JSON.stringify(this.status()), true).catch(() => {});
  }
}
