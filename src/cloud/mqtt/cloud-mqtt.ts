import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Clock } from '../../clock/clock.ts';
import { guardListener } from '../../http/guarded-handler.ts';
import type { Logger } from '../../log/logger.ts';
import { type CommandReply, commandReplySchema } from '../../protocol/mqtt/commands.ts';
import { decodeJson, type MqttPush, mqttPushAckSchema } from '../../protocol/mqtt/push.ts';
import { ALL_GATEWAYS, AVAILABILITY, gatewayTopics, parseTopic } from '../../protocol/mqtt/topics.ts';

export interface CloudMqttOptions {
  clock: Clock;
  logger: Logger;
  url: string;
  client: IClientOptions & { caFile?: string };
}

/**
 * The cloud's side of the MQTT channel: the alternate push line (push out, ack in), command
 * replies, and each gateway's availability (its last will says when it is gone).
 */
export class CloudMqtt {
  private readonly options: CloudMqttOptions;
  private readonly client: MqttClient;
  private readonly log: Logger;
  private readonly acks = new Map<string, () => void>();
  private readonly replies = new Map<string, (reply: CommandReply) => void>();
  private readonly available = new Map<string, boolean>();

  constructor(options: CloudMqttOptions) {
    this.options = options;
    this.log = options.logger.child({ part: 'mqtt' });
    const { caFile, ...clientOptions } = options.client;
    this.client = mqtt.connect(options.url, {
      clientId: `mfp-cloud-${process.pid}`,
      reconnectPeriod: 1000,
      ...clientOptions,
      ...(caFile ? { ca: readFileSync(caFile) } : {}),
      manualConnect: true,
    });
  }

  /** Connects, subscribes, and resolves on the first connection (reconnects on its own after). */
  start(): Promise<void> {
    const { client } = this;
    // What gateways publish is their input, not ours: a message that breaks its handler is logged and dropped.
    client.on(
      'message',
      guardListener(
        this.log,
        'handling an MQTT message',
        () => {},
        (topic: string, payload: Buffer) => this.received(topic, payload),
      ),
    );
    client.on('error', (err) => this.log.warn({ err: err.message }, 'mqtt error'));
    client.on('connect', () => {
      this.log.info('mqtt connected');
      client.subscribe([ALL_GATEWAYS.pushAck, ALL_GATEWAYS.availability, ALL_GATEWAYS.replies], { qos: 1 });
    });
    const first = new Promise<void>((resolve) => client.once('connect', () => resolve()));
    client.connect();
    return first;
  }

  async stop(): Promise<void> {
    await this.client.endAsync();
  }

  /** Whether the gateway's last availability message said online (null: never heard of it). */
  availability(gatewayId: string): boolean | null {
    return this.available.get(gatewayId) ?? null;
  }

  /** Publishes a push (QoS 1) and resolves true once the gateway acknowledged it within timeoutMs. */
  push(gatewayId: string, push: MqttPush, timeoutMs: number): Promise<boolean> {
    if (!this.client.connected) return Promise.resolve(false);
    return new Promise((resolve) => {
      const key = `${gatewayId}/${push.pushId}`;
      const timer = this.options.clock.setTimeout(() => {
        this.acks.delete(key);
        resolve(false);
      }, timeoutMs);
      this.acks.set(key, () => {
        this.options.clock.clearTimeout(timer);
        this.acks.delete(key);
        resolve(true);
      });
      this.client.publish(gatewayTopics(gatewayId).push, JSON.stringify(push), { qos: 1 }, (err) => {
        if (err) this.log.warn({ err: err.message, gateway: gatewayId }, 'cannot publish push over mqtt');
      });
    });
  }

  /** Sends a management command and resolves with its reply, or null after timeoutMs. */
  command(
    gatewayId: string,
    name: string,
    body: { id: string } & Record<string, unknown>,
    timeoutMs: number,
  ) {
    return new Promise<CommandReply | null>((resolve) => {
      const key = `${gatewayId}/${body.id}`;
      const timer = this.options.clock.setTimeout(() => {
        this.replies.delete(key);
        resolve(null);
      }, timeoutMs);
      this.replies.set(key, (reply) => {
        this.options.clock.clearTimeout(timer);
        this.replies.delete(key);
        resolve(reply);
      });
      this.client.publish(gatewayTopics(gatewayId).command(name), JSON.stringify(body), { qos: 1 });
    });
  }

  private received(topic: string, payload: Buffer): void {
    const parsed = parseTopic(topic);
    if (!parsed) return;
    const { gatewayId, path } = parsed;
    const [kind, rest] = path;
    if (kind === 'push-ack') {
      const ack = decodeJson(mqttPushAckSchema, payload);
      if (ack) this.acks.get(`${gatewayId}/${ack.pushId}`)?.();
    } else if (kind === 'availability') {
      const online = payload.toString() === AVAILABILITY.online;
      if (this.available.get(gatewayId) !== online)
        this.log.info({ gateway: gatewayId, online }, 'gateway availability');
      this.available.set(gatewayId, online);
    } else if (kind === 'reply' && rest) {
      const reply = decodeJson(commandReplySchema, payload);
      if (reply) this.replies.get(`${gatewayId}/${rest}`)?.(reply);
    }
  }
}
