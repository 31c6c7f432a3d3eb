import { z } from 'zod';

/**
 * Control messages of the push link, version 1: JSON text frames on the WebSocket.
 * Binary frames are reserved for tunnel data.
 */
export const PROTOCOL_VERSION = 1;

/** Largest control frame either end accepts, bytes. */
export const MAX_CONTROL_FRAME_BYTES = 64 * 1024;

const id = z.string().min(1).max(128);
const ms = z.number().finite().nonnegative();

/**
 * The longest wait one end may ask of the other (keep-alive advice, a probe's gap): 24 days,
 * under the 24.8 days a Node timer holds. A longer value from a misbehaving peer is taken as
 * this much, not refused: the line keeps working.
 */
export const MAX_ADVISED_MS = 24 * 86_400_000;
const advisedMs = ms.transform((value) => Math.min(value, MAX_ADVISED_MS));

export const lineRole = z.enum(['push', 'probe']);

export const adviceSchema = z.object({
  intervalMs: advisedMs,
  source: z.enum(['default', 'history', 'domain', 'probe']),
  /** Which rule gave the interval (absent from older clouds); protocol/advice-words.ts says it in words. */
  basis: z.enum(['default', 'longest-good-gap', 'half-failing-gap']).optional(),
  mcvtMs: advisedMs.nullable(),
  lowerBoundMs: advisedMs.nullable(),
  upperBoundMs: advisedMs.nullable(),
  lifetimeCapMs: advisedMs.nullable(),
  reconnectBeforeAgeMs: advisedMs.nullable(),
  converged: z.boolean(),
});

/** A line the gateway lost, reported on its next hello: evidence for the learner. */
export const lostLineSchema = z.object({
  connectionId: id,
  role: lineRole,
  /**
   * Idle gap the line had sat before it was found dead: before the unanswered keep-alive, or
   * before the close or reset (never the few ms since a keep-alive that a reset answered).
   */
  idleBeforeMs: ms,
  ageMs: ms,
  reason: z.enum(['keepalive-timeout', 'closed', 'error', 'lifetime-replace']),
  policyLimited: z.boolean(),
  /** The session (welcome.sessionId) that died: the cloud records one death per session. */
  sessionId: id.optional(),
  /** How long before this hello the loss was observed, ms: the cloud dates the death, not the report. */
  agoMs: ms.optional(),
  /**
   * The gateway was away while this line sat idle (suspended, its process frozen): the idle
   * gap it measured is not what the path saw, so the death is no evidence (absent: false).
   */
  away: z.boolean().optional(),
});

/** A device behind the gateway, as reported in its hello (the cloud's device registry). */
export const deviceReportSchema = z.object({
  id,
  driver: z.string().max(32),
  address: z.string().max(512),
  directCapable: z.boolean(),
  /** How the device's direct connection reaches the cloud: itself, or relayed by the gateway (absent: own). */
  directVia: z.enum(['own', 'gateway']).optional(),
  jobTypes: z.array(z.enum(['print', 'storage'])).max(4),
  spec: z.record(z.string().max(64), z.union([z.string().max(256), z.number(), z.boolean()])),
});
export type DeviceReport = z.output<typeof deviceReportSchema>;

export const helloSchema = z.object({
  type: z.literal('hello'),
  v: z.number().int(),
  gatewayId: id,
  clientId: z.uuid(),
  connectionId: id,
  role: lineRole,
  domain: z.string().max(253),
  uptimeMs: ms,
  cpuLoad: z.number().finite().nonnegative(),
  powerMode: z.string().max(64),
  keepaliveMs: ms,
  policyLimited: z.boolean(),
  software: z.string().max(64),
  lost: z.array(lostLineSchema).max(64),
  /** Configured devices (absent from gateways that predate jobs). */
  devices: z.array(deviceReportSchema).max(256).optional(),
  /** Most tunnels this gateway relays at once. */
  maxTunnels: z.number().int().min(1).max(10_000).optional(),
  /** LAN devices whose push connections this gateway proxies (docs/push-proxy.md). */
  proxiedDevices: z.array(id).max(256).optional(),
});

export const welcomeSchema = z.object({
  type: z.literal('welcome'),
  connectionId: id,
  /** This session of the line, named by the cloud; a loss report quotes it. */
  sessionId: id.optional(),
  advice: adviceSchema,
  representative: z.boolean(),
  /** The gateway should keep a probe line open (it is its domain's representative). */
  probe: z.boolean(),
  /** How many probe lines to keep while probing (absent from older clouds: one). */
  probeLines: z.number().int().min(1).max(8).optional(),
  /** An older session of the same line was replaced at once. */
  tookOver: z.boolean(),
});

/**
 * The gateway's load as it measures it continuously (seed 001's triggers): the share of all
 * cores' time spent busy over the last few seconds (0..1), and the speed its tunnels' data
 * arrives at while the gateway waits for it (bytes/s; null before any such measurement or
 * once it is stale).
 */
export const loadFieldsSchema = z.object({
  cpuUsage: z.number().finite().min(0).max(1).nullable(),
  lineBytesPerSec: z.number().finite().nonnegative().nullable(),
});

export const keepaliveSchema = z.object({
  type: z.literal('keepalive'),
  seq: z.number().int().nonnegative(),
  powerMode: z.string().max(64),
  keepaliveMs: ms,
  policyLimited: z.boolean(),
  /** The gateway's load now (absent from gateways that predate it). */
  ...loadFieldsSchema.partial().shape,
});

/** The gateway's load, sent every second or so on lines that carry job tunnels (nothing on idle lines). */
export const loadSchema = z.object({
  type: z.literal('load'),
  ...loadFieldsSchema.shape,
});

export const keepaliveAckSchema = z.object({
  type: z.literal('keepalive-ack'),
  seq: z.number().int().nonnegative(),
  advice: adviceSchema,
  probe: z.boolean(),
  /** How many probe lines to keep while probing (absent from older clouds: one). */
  probeLines: z.number().int().min(1).max(8).optional(),
});

export const pushSchema = z.object({
  type: z.literal('push'),
  pushId: id,
  dataType: z.string().min(1).max(64),
  payload: z.unknown(),
});

export const pushAckSchema = z.object({
  type: z.literal('push-ack'),
  pushId: id,
});

export const probeSchema = z.object({
  type: z.literal('probe'),
  probeId: id,
  gapMs: advisedMs,
});

export const probeAckSchema = z.object({
  type: z.literal('probe-ack'),
  probeId: id,
});

/** The cloud tells the gateway over a live line that another line is dead: reopen it now. */
export const restoreSchema = z.object({
  type: z.literal('restore'),
  connectionIds: z.array(id).max(16),
  reason: z.string().max(200),
});

/** Unsolicited advice, e.g. when the learner changed its mind or probing starts or stops. */
export const adviceMessageSchema = z.object({
  type: z.literal('advice'),
  advice: adviceSchema,
  probe: z.boolean(),
  /** How many probe lines to keep while probing (absent from older clouds: one). */
  probeLines: z.number().int().min(1).max(8).optional(),
});

export const errorSchema = z.object({
  type: z.literal('error'),
  code: z.string().max(64),
  message: z.string().max(1000),
});

export const gatewayToCloudSchema = z.discriminatedUnion('type', [
  helloSchema,
  keepaliveSchema,
  loadSchema,
  pushAckSchema,
  probeAckSchema,
  errorSchema,
]);

export const cloudToGatewaySchema = z.discriminatedUnion('type', [
  welcomeSchema,
  keepaliveAckSchema,
  pushSchema,
  probeSchema,
  restoreSchema,
  adviceMessageSchema,
  errorSchema,
]);

export type Advice = z.infer<typeof adviceSchema>;
export type LostLine = z.infer<typeof lostLineSchema>;
export type Hello = z.infer<typeof helloSchema>;
export type Welcome = z.infer<typeof welcomeSchema>;
export type Keepalive = z.infer<typeof keepaliveSchema>;
export type KeepaliveAck = z.infer<typeof keepaliveAckSchema>;
export type GatewayLoadReport = z.infer<typeof loadFieldsSchema>;
export type LoadMessage = z.infer<typeof loadSchema>;
export type Push = z.infer<typeof pushSchema>;
export type PushAck = z.infer<typeof pushAckSchema>;
export type Probe = z.infer<typeof probeSchema>;
export type ProbeAck = z.infer<typeof probeAckSchema>;
export type Restore = z.infer<typeof restoreSchema>;
export type AdviceMessage = z.infer<typeof adviceMessageSchema>;
export type ErrorMessage = z.infer<typeof errorSchema>;
export type GatewayToCloud = z.infer<typeof gatewayToCloudSchema>;
export type CloudToGateway = z.infer<typeof cloudToGatewaySchema>;
