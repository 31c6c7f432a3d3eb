/**
 * MQTT topic layout, version 1 (docs/mqtt.md). Every topic of a gateway sits under
 * `mfpgw/{gatewayId}/`, so a broker ACL can give each gateway exactly its own subtree.
 */
export const TOPIC_ROOT = 'mfpgw';

/** Payloads of the retained availability topic (the offline one is the last will). */
export const AVAILABILITY = { online: 'online', offline: 'offline' } as const;

/** The topics of one gateway. */
export interface GatewayTopics {
  /** Retained `online` / `offline` (last will). */
  availability: string;
  /** Retained status document. */
  status: string;
  telemetry: string;
  /** Log batches, QoS 1. */
  log: string;
  /** Commands in: `cmd/{name}`. */
  command: (name: string) => string;
  /** Subscription filter for every command. */
  commands: string;
  /** Replies out: `reply/{commandId}`. */
  reply: (commandId: string) => string;
  /** Pushes from the cloud when no WebSocket line is up (alternate push line). */
  push: string;
  pushAck: string;
  /** Retained state of one LAN device. */
  deviceState: (deviceId: string) => string;
}

/** The topics of a gateway; the id must be a slug (no `/`, `+`, `#`). */
export function gatewayTopics(gatewayId: string): GatewayTopics {
  const base = `${TOPIC_ROOT}/${gatewayId}`;
  return {
    availability: `${base}/availability`,
    status: `${base}/status`,
    telemetry: `${base}/telemetry`,
    log: `${base}/log`,
    command: (name) => `${base}/cmd/${name}`,
    commands: `${base}/cmd/+`,
    reply: (commandId) => `${base}/reply/${commandId}`,
    push: `${base}/push`,
    pushAck: `${base}/push-ack`,
    deviceState: (deviceId) => `${base}/devices/${deviceId}/state`,
  };
}

/** Reply topic used when a command was too broken to carry an id. */
export const UNADDRESSED_REPLY = '_invalid';

/** Subscription filters for the cloud: one topic kind across every gateway. */
export const ALL_GATEWAYS = {
  availability: `${TOPIC_ROOT}/+/availability`,
  status: `${TOPIC_ROOT}/+/status`,
  telemetry: `${TOPIC_ROOT}/+/telemetry`,
  log: `${TOPIC_ROOT}/+/log`,
  replies: `${TOPIC_ROOT}/+/reply/+`,
  pushAck: `${TOPIC_ROOT}/+/push-ack`,
} as const;

/** Splits `mfpgw/{gateway}/{rest…}`; null for a topic outside the layout. */
export function parseTopic(topic: string): { gatewayId: string; path: string[] } | null {
  const parts = topic.split('/');
  if (parts.length < 3 || parts[0] !== TOPIC_ROOT || !parts[1]) return null;
  return { gatewayId: parts[1], path: parts.slice(2) };
}
