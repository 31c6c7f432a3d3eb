import { z } from 'zod';
import { pushSchema } from '../messages.ts';

/**
 * Messages of the push proxy, version 1 (docs/push-proxy.md): a LAN device's push
 * connection to the gateway (JSON text frames on a WebSocket), and the device's virtual
 * connection from the gateway to the cloud (JSON lines on one tunnel stream per device).
 */
export const PUSH_PROXY_VERSION = 1;

/** Largest message either end accepts, bytes (a JSON line without its newline). */
export const MAX_PROXY_MESSAGE_BYTES = 64 * 1024;

/** Path of the gateway's LAN WebSocket endpoint. */
export const PUSH_PROXY_PATH = '/push-proxy';

const id = z.string().min(1).max(128);
const ms = z.number().int().nonnegative();
const label = z.string().max(64);

/** What the gateway knows of a proxied device: connected, asleep (it said so), or gone (it vanished, or never came). */
export const deviceStateSchema = z.enum(['awake', 'sleeping', 'gone']);
export type DeviceState = z.output<typeof deviceStateSchema>;

export const errorMessageSchema = z.object({
  type: z.literal('error'),
  code: z.string().max(64),
  message: z.string().max(1000),
});

// ---- LAN: device ↔ gateway ----

/** First frame of a device: who it is, proven by its per-device token. */
export const deviceHelloSchema = z.object({
  type: z.literal('hello'),
  v: z.number().int(),
  deviceId: id,
  token: z.string().min(1).max(256),
  /** The cloud service the device's pushes come from (informational). */
  service: label.optional(),
  software: label.optional(),
});

export const deviceKeepaliveSchema = z.object({ type: z.literal('keepalive'), seq: ms });

export const devicePushAckSchema = z.object({ type: z.literal('push-ack'), pushId: id });

/** The device goes to sleep: hold its pushes until it comes back (then it closes the connection). */
export const deviceSleepSchema = z.object({ type: z.literal('sleep') });

export const deviceToGatewaySchema = z.discriminatedUnion('type', [
  deviceHelloSchema,
  deviceKeepaliveSchema,
  devicePushAckSchema,
  deviceSleepSchema,
  errorMessageSchema,
]);

/** The gateway's answer to a hello: the LAN keep-alive interval it chose, and how many pushes it held. */
export const proxyWelcomeSchema = z.object({
  type: z.literal('welcome'),
  deviceId: id,
  keepaliveMs: ms,
  held: ms,
});

export const proxyKeepaliveAckSchema = z.object({
  type: z.literal('keepalive-ack'),
  seq: ms,
  keepaliveMs: ms,
});

/** A push for the device; `heldSince` says since when the gateway held it while the device slept. */
export const proxyPushSchema = pushSchema.extend({ heldSince: ms.optional() });

export const gatewayToDeviceSchema = z.discriminatedUnion('type', [
  proxyWelcomeSchema,
  proxyKeepaliveAckSchema,
  proxyPushSchema,
  errorMessageSchema,
]);

// ---- upstream: gateway ↔ cloud, on the device's stream ----

/** First line of a device's stream: the virtual connection's hello. */
export const attachSchema = z.object({
  type: z.literal('attach'),
  v: z.number().int(),
  deviceId: id,
  state: deviceStateSchema,
  /** Since when the device is in that state (ms since the epoch). */
  since: ms,
  /** The LAN keep-alive interval the gateway gives the device. */
  keepaliveMs: ms,
  held: ms,
  service: label.optional(),
  software: label.optional(),
});

export const stateSchema = z.object({
  type: z.literal('state'),
  state: deviceStateSchema,
  since: ms,
  held: ms,
  service: label.optional(),
  software: label.optional(),
});

/**
 * What became of a push: `received` by the gateway (at once: proves the line), then one
 * of `delivered` (the device acknowledged), `held` (the device is away; kept until
 * `expiresAt`), `refused` (the hold queue is full) — and later, for a held push,
 * `delivered` or `expired`.
 */
export const pushStatusSchema = z.object({
  type: z.literal('push-status'),
  pushId: id,
  status: z.enum(['received', 'delivered', 'held', 'expired', 'refused']),
  at: ms,
  held: ms.optional(),
  expiresAt: ms.optional(),
  reason: z.string().max(300).optional(),
});
export type PushStatus = z.output<typeof pushStatusSchema>;

export const gatewayToStreamSchema = z.discriminatedUnion('type', [
  attachSchema,
  stateSchema,
  pushStatusSchema,
  errorMessageSchema,
]);

export const cloudToStreamSchema = z.discriminatedUnion('type', [pushSchema, errorMessageSchema]);

export type DeviceToGateway = z.output<typeof deviceToGatewaySchema>;
export type GatewayToDevice = z.output<typeof gatewayToDeviceSchema>;
export type GatewayToStream = z.output<typeof gatewayToStreamSchema>;
export type CloudToStream = z.output<typeof cloudToStreamSchema>;
export type ProxiedPush = z.output<typeof pushSchema>;
