import type { Clock } from '../../clock/clock.ts';
import type { CloudConfig } from '../../config/cloud-config.ts';
import type { Logger } from '../../log/logger.ts';
import type { GatewayRegistry } from '../registry/gateway-registry.ts';
import { CloudMqtt } from './cloud-mqtt.ts';
import { CLOUD_MQTT_USER, type EmbeddedBroker, startEmbeddedBroker } from './embedded-broker.ts';

/** The cloud's MQTT parts: the client, and the embedded broker when configured. */
export interface CloudMqttParts {
  client: CloudMqtt;
  broker: EmbeddedBroker | null;
  stop(): Promise<void>;
}

/** Starts the embedded broker (if asked) and connects the cloud's MQTT client. */
export async function startCloudMqtt(
  config: CloudConfig,
  settings: NonNullable<CloudConfig['mqtt']>,
  deps: { clock: Clock; logger: Logger; gateways: GatewayRegistry },
): Promise<CloudMqttParts> {
  const broker = settings.embedded
    ? await startEmbeddedBroker({
        host: settings.listen.host,
        port: settings.listen.port,
        gateways: deps.gateways,
        cloudPassword: config.api.token,
      })
    : null;
  if (broker) deps.logger.info({ url: broker.url }, 'embedded mqtt broker listening (MQTT 3.1.1)');
  const client = new CloudMqtt({
    clock: deps.clock,
    logger: deps.logger,
    url: broker?.url ?? (settings.url as string),
    client: broker
      ? { protocolVersion: 4, username: CLOUD_MQTT_USER, password: config.api.token }
      : {
          protocolVersion: settings.protocolVersion,
          username: settings.username,
          password: settings.password,
          caFile: settings.caFile,
        },
  });
  await client.start();
  return {
    client,
    broker,
    async stop() {
      await client.stop();
      await broker?.close();
    },
  };
}
