import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { GatewayConfig } from '../../config/gateway-config.ts';
import { AVAILABILITY, gatewayTopics } from '../../protocol/mqtt/topics.ts';
import { proxyAgent, proxyFor } from '../link/proxy.ts';

export type MqttSettings = NonNullable<GatewayConfig['mqtt']>;

/** Longest MQTT keep-alive the protocol can express, ms (a 16-bit count of seconds). */
export const MAX_MQTT_KEEPALIVE_MS = 65_535_000;
/** Shortest keep-alive we let the learned interval set, ms. */
export const MIN_MQTT_KEEPALIVE_MS = 10_000;

/** The MQTT keep-alive in seconds for an interval, within what MQTT can say. */
export function keepaliveSeconds(intervalMs: number): number {
  return Math.round(Math.min(MAX_MQTT_KEEPALIVE_MS, Math.max(MIN_MQTT_KEEPALIVE_MS, intervalMs)) / 1000);
}

/**
 * mqtt.js options for the gateway's broker connection: verified TLS with an optional private
 * CA, user/password or client certificate, the retained "offline" last will, and for a
 * wss:// broker the same HTTP CONNECT proxy the push lines use.
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
    reconnectPeriod: 2000,
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
