import { z } from 'zod';

/**
 * What the nodes of a fleet tell each other over NATS (docs/fleet.md), parsed at the edge:
 * a message that does not parse is dropped and logged, never acted on.
 */

const id = z.string().min(1).max(128);
const ms = z.number().finite();

/** Subjects. A node's own subjects carry its name hex-encoded (a name may hold dots). */
export const SUBJECTS = {
  heartbeat: 'mfpgw.nodes.heartbeat',
  presence: 'mfpgw.presence',
  closeGateway: 'mfpgw.gateways.close',
  node: (node: string, what: 'sync' | 'snapshot' | 'push' | 'restore' | 'schedule' | 'direct') =>
    `mfpgw.node.${Buffer.from(node).toString('hex')}.${what}`,
};

/** Every node says it is alive each second; `seq` is its last presence event. */
export const heartbeatSchema = z.object({
  node: id,
  /** Random per process: a node restarted under its name is a new instance. */
  instance: id,
  seq: z.number().int(),
  leaving: z.boolean().optional(),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

const remoteGatewaySchema = z.object({
  gatewayId: id,
  siteKey: z.string().max(512),
  uptimeAtHelloMs: ms,
  helloAt: ms,
  cpuLoad: ms,
});

const lineSchema = z.object({
  gateway: remoteGatewaySchema,
  connectionId: id,
  role: z.enum(['push', 'probe']),
  connectedAt: ms,
});
export type PresenceLine = z.infer<typeof lineSchema>;

/** A line came up or went down on a node. */
export const presenceEventSchema = z.discriminatedUnion('up', [
  z.object({ up: z.literal(true), node: id, instance: id, seq: z.number().int(), line: lineSchema }),
  z.object({
    up: z.literal(false),
    node: id,
    instance: id,
    seq: z.number().int(),
    gatewayId: id,
    connectionId: id,
  }),
]);
export type PresenceEvent = z.infer<typeof presenceEventSchema>;

/** Asks a node for all its lines (a node joined, or missed events). */
export const syncRequestSchema = z.object({ from: id });

/** A part of a node's lines, sent to the node that asked; `first` replaces what it knew. */
export const snapshotSchema = z.object({
  node: id,
  instance: id,
  seq: z.number().int(),
  first: z.boolean(),
  lines: z.array(lineSchema),
});
export type Snapshot = z.infer<typeof snapshotSchema>;

export const pushRequestSchema = z.object({
  gatewayId: id,
  connectionId: id,
  pushId: id,
  dataType: z.string().max(128),
  payload: z.unknown(),
  ackTimeoutMs: z.number().int().positive(),
});

export const pushReplySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), idleBeforeMs: ms }),
  z.object({ ok: z.literal(false), failure: z.string().max(512) }),
]);

export const restoreRequestSchema = z.object({
  gatewayId: id,
  connectionIds: z.array(id).max(64),
  reason: z.string().max(512),
});

export const restoreReplySchema = z.object({ sent: z.boolean() });

export const scheduleSchema = z.object({ gatewayId: id });

/** A job's device connected by itself through another node. */
export const directConnectedSchema = z.object({ jobId: id });

export const closeGatewaySchema = z.object({ from: id, gatewayId: id, reason: z.string().max(512) });

/** Lines per snapshot message: well under NATS's default 1 MB payload limit. */
export const SNAPSHOT_CHUNK = 500;
