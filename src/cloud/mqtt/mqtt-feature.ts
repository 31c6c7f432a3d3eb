import type { Feature } from '../../lifecycle/feature.ts';
import type { MqttPush } from '../../protocol/mqtt/push.ts';
import type { CloudContext } from '../cloud-context.ts';
import type { AlternatePushLine } from '../push/push-dispatcher.ts';
import type { GatewayRegistry } from '../registry/gateway-registry.ts';
import { type CloudMqttParts, startCloudMqtt } from './cloud-mqtt-setup.ts';

/**
 * The cloud's MQTT side (the embedded broker when configured, and the cloud's client): the
 * alternate push line of the dispatcher, which has none until started.
 */
export class CloudMqttFeature implements Feature, AlternatePushLine {
  readonly name = 'mqtt';
  private readonly ctx: CloudContext;
  private readonly settings: NonNullable<CloudContext['config']['mqtt']>;
  private readonly gateways: GatewayRegistry;
  private running: CloudMqttParts | null = null;

  /** `gateways`: who may log in to the embedded broker. */
  constructor(
    ctx: CloudContext,
    settings: NonNullable<CloudContext['config']['mqtt']>,
    gateways: GatewayRegistry,
  ) {
    this.ctx = ctx;
    this.settings = settings;
    this.gateways = gateways;
  }

  /** The client and broker, once started. */
  get parts(): CloudMqttParts | null {
    return this.running;
  }

  async start(): Promise<void> {
    const { config, clock, logger } = this.ctx;
    this.running = await startCloudMqtt(config, this.settings, { clock, logger, gateways: this.gateways });
  }

  async stop(): Promise<void> {
    await this.running?.stop();
  }

  push(gatewayId: string, push: MqttPush, timeoutMs: number): Promise<boolean> {
    return this.running?.client.push(gatewayId, push, timeoutMs) ?? Promise.resolve(false);
  }
}
