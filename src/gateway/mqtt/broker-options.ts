import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { GatewayConfig } from '../../config/gateway-config.ts';
import { AVAILABILITY, gatewayTopics } from '../../protocol/mqtt/topics.ts';
import { proxyAgent, proxyFor } from '../link/proxy.ts';
import { keepaliveSeconds } from './mqtt-keepalive.ts';

export type MqttSettings = NonNullable<GatewayConfig['mqtt']>;

/**
 * mqtt.js options for the gateway's broker connection: verified TLS with an optional private
 * CA, user/password or client certificate, the retained "offline" last will, and for a
 * wss:// broker the same HTTP CONNECT proxy the push lines use. The client connects only when
 * told to (BrokerConnection).
 */
export function brokerOptions(
  settings: MqttSettings,
  gatewayId: string,
  context: { cloudProxy?: string; env: NodeJS.ProcessEnv },
): { url: string; options: IClientOptions; proxied: URL | null } {
  const url = new URL(settings.url);
  const overWebSocket = url.protocol === 'ws:' || url.protocol === 'wss:';
  const proxy = overWebSocket ? proxyFor(url, settings.proxy ?? context.cloudProxy, context.env) : null;
  const topics = gatewayTopics(gatewayId);
  const options: IClientOptions = {
    protocolVersion: settings.protocolVersion,
    clientId: `mfpgw-${gatewayId}`,
    clean: true,
    keepalive: keepaliveSeconds(settings.keepalive),
    // BrokerConnection reconnects (backoff on the gateway's clock, at once on wake), not mqtt.js.
    reconnectPeriod: 0,
    connectTimeout: 15_000,
    username: settings.username,
    password: settings.password,
    rejectUnauthorized: true,
    ca: settings.caFile ? readFileSync(settings.caFile) : undefined,
    cert: settings.certFile ? readFileSync(settings.certFile) : undefined,
    key: settings.keyFile ? readFileSync(settings.keyFile) : undefined,
    will: { topic: topics.availability, payload: Buffer.from(AVAILABILITY.offline), qos: 1, retain: true },
    ...(proxy ? { wsOptions: { agent: proxyAgent(proxy) } } : {}),
  };
  return { url: settings.url, options, proxied: proxy };
}
