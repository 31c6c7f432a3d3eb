import type { z } from 'zod';
import { ProtocolError } from './errors.ts';
import { checkKeepalive } from './keepalive-check.ts';
import {
  type CloudToGateway,
  cloudToGatewaySchema,
  type GatewayToCloud,
  gatewayToCloudSchema,
  type KeepaliveAck,
  MAX_CONTROL_FRAME_BYTES,
} from './messages.ts';

/** Either a decoded message or the reason it was refused. */
export type Decoded<T> = { ok: true; message: T } | { ok: false; error: ProtocolError };

const KNOWN_TYPES = {
  gateway: new Set(gatewayToCloudSchema.options.map((o) => o.shape.type.value)),
  cloud: new Set(cloudToGatewaySchema.options.map((o) => o.shape.type.value)),
};

/**
 * Decodes one JSON control message against a discriminated union: size, text, JSON, a
 * known `type`, then the schema, each refusal a typed ProtocolError. Other protocols that
 * keep this framing (the push proxy, docs/push-proxy.md) decode with it too.
 */
export function decodeControl<T>(
  data: string | Buffer,
  isBinary: boolean,
  schema: z.ZodType<T>,
  known: Set<string>,
  maxBytes: number,
  /** A cheaper check of the commonest message: what it returns the schema would; undefined: ask the schema. */
  fastPath?: (value: Record<string, unknown>) => T | undefined,
): Decoded<T> {
  const fail = (error: ProtocolError): Decoded<T> => ({ ok: false, error });
  if (isBinary) {
    return fail(
      new ProtocolError(
        'MFP_ERR_BINARY_UNEXPECTED',
        'binary frame where a control message was expected',
        1003,
      ),
    );
  }
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (size > maxBytes) {
    return fail(
      new ProtocolError(
        'MFP_ERR_FRAME_TOO_LARGE',
        `control frame of ${size} bytes exceeds the limit of ${maxBytes}`,
        1009,
      ),
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch {
    return fail(new ProtocolError('MFP_ERR_INVALID_JSON', 'control frame is not valid JSON', 1007));
  }
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  if (typeof type !== 'string') {
    return fail(new ProtocolError('MFP_ERR_INVALID_MESSAGE', 'control message has no "type" field'));
  }
  if (!known.has(type)) {
    return fail(new ProtocolError('MFP_ERR_UNKNOWN_TYPE', `unknown message type "${type.slice(0, 64)}"`));
  }
  const fast = fastPath?.(value as Record<string, unknown>);
  if (fast !== undefined) return { ok: true, message: fast };
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || '(message)';
    return fail(
      new ProtocolError('MFP_ERR_INVALID_MESSAGE', `invalid "${type}" message: ${where}: ${issue?.message}`),
    );
  }
  return { ok: true, message: parsed.data };
}

/** Decodes a frame the cloud received from a gateway. */
export function decodeFromGateway(
  data: string | Buffer,
  isBinary = false,
  maxBytes = MAX_CONTROL_FRAME_BYTES,
): Decoded<GatewayToCloud> {
  return decodeControl(data, isBinary, gatewayToCloudSchema, KNOWN_TYPES.gateway, maxBytes, checkKeepalive);
}

/** Decodes a frame the gateway received from the cloud. */
export function decodeFromCloud(
  data: string | Buffer,
  isBinary = false,
  maxBytes = MAX_CONTROL_FRAME_BYTES,
): Decoded<CloudToGateway> {
  return decodeControl(data, isBinary, cloudToGatewaySchema, KNOWN_TYPES.cloud, maxBytes);
}

/** Encodes a control message as a text frame. */
export function encodeMessage(message: GatewayToCloud | CloudToGateway): string {
  if (message.type === 'keepalive-ack') return encodeKeepaliveAck(message);
  return JSON.stringify(message);
}

/** The JSON of each advice object answered with so far (the cloud hands out one frozen object per decision). */
const adviceJson = new WeakMap<KeepaliveAck['advice'], string>();

/**
 * A keep-alive answer, the message the cloud sends most: the same text as JSON.stringify, with
 * the advice's JSON written once per advice object, not once per answer.
 */
function encodeKeepaliveAck(ack: KeepaliveAck): string {
  let advice = adviceJson.get(ack.advice);
  if (advice === undefined) {
    advice = JSON.stringify(ack.advice);
    if (Object.isFrozen(ack.advice)) adviceJson.set(ack.advice, advice);
  }
  const probeLines = ack.probeLines === undefined ? '' : `,"probeLines":${JSON.stringify(ack.probeLines)}`;
  return `{"type":"keepalive-ack","seq":${JSON.stringify(ack.seq)},"advice":${advice},"probe":${JSON.stringify(ack.probe)}${probeLines}}`;
}
