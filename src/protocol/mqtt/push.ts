import { z } from 'zod';

/**
 * The alternate push line over MQTT: the same push and ack as on a WebSocket line
 * (docs/push-protocol.md), without the `type` field since the topic says what it is.
 */
const id = z.string().min(1).max(128);

export const mqttPushSchema = z.object({
  pushId: id,
  dataType: z.string().min(1).max(64),
  payload: z.unknown(),
});
export type MqttPush = z.output<typeof mqttPushSchema>;

export const mqttPushAckSchema = z.object({ pushId: id });
export type MqttPushAck = z.output<typeof mqttPushAckSchema>;

/** Parses a JSON payload against a schema; null when it is not valid. */
export function decodeJson<S extends z.ZodType>(schema: S, body: Uint8Array): z.output<S> | null {
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(body).toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
