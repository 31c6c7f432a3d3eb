import { randomUUID } from 'node:crypto';
import { connect, type Msg, type NatsConnection } from 'nats';
import type { z } from 'zod';
import type { TimerHandle } from '../../clock/clock.ts';
import type { CloudConfig } from '../../config/cloud-config.ts';
import type { Feature } from '../../lifecycle/feature.ts';
import type { Logger } from '../../log/logger.ts';
import type { CloudContext } from '../cloud-context.ts';
import type { JobFleet, JobRunner } from '../jobs/job-runner.ts';
import type { JobStore } from '../jobs/job-store.ts';
import type { CloudLine } from '../push/cloud-line.ts';
import type { FleetCalls, RemotePushOutcome } from '../push/fleet-calls.ts';
import type { GatewayDirectory, RemoteLine } from '../push/gateway-directory.ts';
import type { PushDispatcher } from '../push/push-dispatcher.ts';
import type { PushServer } from '../push/push-server.ts';
import {
  closeGatewaySchema,
  directConnectedSchema,
  heartbeatSchema,
  type PresenceEvent,
  type PresenceLine,
  presenceEventSchema,
  pushReplySchema,
  pushRequestSchema,
  restoreReplySchema,
  restoreRequestSchema,
  SNAPSHOT_CHUNK,
  SUBJECTS,
  scheduleSchema,
  snapshotSchema,
  syncRequestSchema,
} from './cluster-messages.ts';
import { FleetNodes } from './fleet-nodes.ts';

export type ClusterSettings = NonNullable<CloudConfig['cluster']>;

/** How often a node says it is alive. */
const HEARTBEAT_MS = 1_000;
/** A request to another node gets this much longer than the work it asks for. */
const REQUEST_SLACK_MS = 5_000;
/** A node sharing this node's name is logged at most this often. */
const NAMESAKE_WARN_MS = 60_000;
/** A restore request to another node. */
const RESTORE_TIMEOUT_MS = 5_000;

/** This node's parts that other nodes' requests reach. */
export interface LocalParts {
  push: PushServer;
  dispatcher: PushDispatcher;
  runner: JobRunner;
  jobStore: JobStore;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A node of a fleet (docs/fleet.md): tells the other nodes over NATS which gateways' lines it
 * holds (presence) and learns theirs into the gateway directory, and carries the requests
 * that must reach the node holding a line: a push, a restore, scheduling a gateway's jobs.
 * A node not heard from for `cluster.nodeTimeout` has left: its lines are forgotten and the
 * jobs it carried go back to the queue, to be resumed where the gateway's lines now are.
 */
export class ClusterFeature implements Feature, FleetCalls, JobFleet {
  readonly name = 'cluster';
  readonly node: string;
  private readonly instance = randomUUID();
  private readonly settings: ClusterSettings;
  private readonly ctx: CloudContext;
  private readonly directory: GatewayDirectory;
  private readonly log: Logger;
  private readonly nodes = new FleetNodes();
  private nc: NatsConnection | undefined;
  private parts: LocalParts | undefined;
  private seq = 0;
  private heartbeatTimer: TimerHandle | undefined;
  private startedAt = 0;
  /** When this node last heard its own heartbeat: proof that it hears the others. */
  private ownHeardAt = 0;
  private namesakeWarnedAt = Number.NEGATIVE_INFINITY;
  private readonly onLineUp = (line: CloudLine) => this.lineUp(line);
  private readonly onLineDown = (line: CloudLine) => this.lineDown(line);

  constructor(ctx: CloudContext, settings: ClusterSettings, node: string, directory: GatewayDirectory) {
    this.ctx = ctx;
    this.settings = settings;
    this.node = node;
    this.directory = directory;
    this.log = ctx.logger.child({ part: 'cluster', node });
  }

  /** The parts other nodes' requests reach; set before start. */
  serve(parts: LocalParts): void {
    this.parts = parts;
  }

  async start(): Promise<void> {
    const { clock } = this.ctx;
    try {
      this.nc = await connect({
        servers: this.settings.nats,
        ...(this.settings.token ? { token: this.settings.token } : {}),
        name: `mfp-cloud ${this.node}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1_000,
      });
    } catch (err) {
      throw new Error(`cluster.nats: cannot connect to ${this.settings.nats}: ${(err as Error).message}`);
    }
    const nc = this.nc;
    this.watchStatus(nc);
    this.startedAt = clock.now();
    this.ownHeardAt = clock.now();
    this.subscribe(SUBJECTS.heartbeat, heartbeatSchema, (m) => this.heard(m));
    this.subscribe(SUBJECTS.presence, presenceEventSchema, (m) => this.presence(m));
    this.subscribe(SUBJECTS.node(this.node, 'sync'), syncRequestSchema, (m) => this.sendSnapshot(m.from));
    this.subscribe(SUBJECTS.node(this.node, 'snapshot'), snapshotSchema, (m) => this.snapshot(m));
    this.subscribe(SUBJECTS.node(this.node, 'push'), pushRequestSchema, (m, msg) => this.servePush(m, msg));
    this.subscribe(SUBJECTS.node(this.node, 'restore'), restoreRequestSchema, (m, msg) => {
      const sent =
        this.parts?.push.restore(m.gatewayId, m.connectionIds, m.reason, { localOnly: true }) ?? false;
      msg.respond(encoder.encode(JSON.stringify({ sent })));
    });
    this.subscribe(SUBJECTS.node(this.node, 'schedule'), scheduleSchema, (m) =>
      this.parts?.runner.schedule(m.gatewayId, 'fleet'),
    );
    this.subscribe(SUBJECTS.node(this.node, 'direct'), directConnectedSchema, async (m) => {
      const job = await this.parts?.jobStore.get(m.jobId);
      if (job) this.parts?.runner.directConnected(job);
    });
    this.subscribe(SUBJECTS.closeGateway, closeGatewaySchema, (m) => {
      if (m.from !== this.node) this.parts?.push.closeGateway(m.gatewayId, m.reason);
    });
    await nc.flush();
    this.directory.on('line-up', this.onLineUp);
    this.directory.on('line-down', this.onLineDown);
    this.beat();
    this.log.info({ nats: this.settings.nats }, 'joined the fleet');
  }

  async stop(): Promise<void> {
    this.directory.off('line-up', this.onLineUp);
    this.directory.off('line-down', this.onLineDown);
    this.ctx.clock.clearTimeout(this.heartbeatTimer);
    const nc = this.nc;
    if (!nc || nc.isClosed()) return;
    this.publish(SUBJECTS.heartbeat, {
      node: this.node,
      instance: this.instance,
      seq: this.seq,
      leaving: true,
    });
    await nc.drain().catch(() => {});
  }

  /** Closes a gateway's lines on the other nodes (disabled, deleted, new token). */
  closeEverywhere(gatewayId: string, reason: string): void {
    this.publish(SUBJECTS.closeGateway, { from: this.node, gatewayId, reason });
  }

  // ------------------------------------------------------------ calls to other nodes

  async push(
    line: RemoteLine,
    push: { pushId: string; dataType: string; payload: unknown },
    ackTimeoutMs: number,
  ): Promise<RemotePushOutcome> {
    const request = { gatewayId: line.gatewayId, connectionId: line.connectionId, ...push, ackTimeoutMs };
    const reply = await this.request(
      SUBJECTS.node(line.node, 'push'),
      request,
      ackTimeoutMs + REQUEST_SLACK_MS,
      pushReplySchema,
    );
    return 'error' in reply ? { ok: false, failure: `node ${line.node} unreachable: ${reply.error}` } : reply;
  }

  async restore(line: RemoteLine, connectionIds: string[], reason: string): Promise<boolean> {
    const reply = await this.request(
      SUBJECTS.node(line.node, 'restore'),
      { gatewayId: line.gatewayId, connectionIds, reason },
      RESTORE_TIMEOUT_MS,
      restoreReplySchema,
    );
    if ('error' in reply) {
      this.log.warn({ gateway: line.gatewayId, node: line.node, err: reply.error }, 'restore not sent');
      return false;
    }
    return reply.sent;
  }

  schedule(node: string, gatewayId: string): void {
    this.publish(SUBJECTS.node(node, 'schedule'), { gatewayId });
  }

  directConnected(node: string, jobId: string): void {
    this.publish(SUBJECTS.node(node, 'direct'), { jobId });
  }

  // ------------------------------------------------------------ presence

  private lineUp(line: CloudLine): void {
    this.seq++;
    this.publish(SUBJECTS.presence, {
      up: true,
      node: this.node,
      instance: this.instance,
      seq: this.seq,
      line: this.describe(line),
    });
  }

  private lineDown(line: CloudLine): void {
    this.seq++;
    this.publish(SUBJECTS.presence, {
      up: false,
      node: this.node,
      instance: this.instance,
      seq: this.seq,
      gatewayId: line.gatewayId,
      connectionId: line.connectionId,
    });
  }

  private describe(line: CloudLine): PresenceLine {
    const presence = this.directory.get(line.gatewayId);
    return {
      gateway: {
        gatewayId: line.gatewayId,
        siteKey: presence?.siteKey ?? '',
        uptimeAtHelloMs: presence?.uptimeAtHelloMs ?? 0,
        helloAt: presence?.helloAt ?? line.connectedAt,
        cpuLoad: presence ? this.directory.cpuLoadNow(presence) : 0,
      },
      connectionId: line.connectionId,
      role: line.role,
      connectedAt: line.connectedAt,
    };
  }

  private presence(event: PresenceEvent): void {
    if (event.node === this.node) return;
    const verdict = this.nodes.event(event.node, event.instance, event.seq, this.ctx.clock.now());
    this.act(event.node, verdict);
    if (event.up) this.addLine(event.node, event.line);
    else this.directory.removeRemote(event.gatewayId, event.node, event.connectionId);
  }

  private addLine(node: string, line: PresenceLine): void {
    const { gateway, connectionId, role } = line;
    // The gateway opened this line anew through another node: the copy here is a dead session.
    for (const local of this.directory.lines(gateway.gatewayId, role)) {
      if (local.connectionId === connectionId && local.connectedAt < line.connectedAt)
        local.terminate(`taken over by a new connection of the same line on node ${node}`);
    }
    this.directory.addRemote(gateway, { gatewayId: gateway.gatewayId, connectionId, role, node });
  }

  private heard(beat: z.infer<typeof heartbeatSchema>): void {
    const now = this.ctx.clock.now();
    if (beat.node === this.node) {
      if (beat.instance === this.instance) this.ownHeardAt = now;
      else if (!beat.leaving && now - this.namesakeWarnedAt > NAMESAKE_WARN_MS) {
        this.namesakeWarnedAt = now;
        this.log.error(
          { nats: this.settings.nats },
          'another node runs under this node’s name: give each node its own cluster.node',
        );
      }
      return;
    }
    if (beat.leaving) {
      if (this.nodes.remove(beat.node)) this.left([beat.node], 'left the fleet');
      return;
    }
    this.act(beat.node, this.nodes.heartbeat(beat.node, beat.instance, beat.seq, now));
  }

  private act(node: string, verdict: { forget: boolean; sync: boolean }): void {
    if (verdict.forget) this.directory.forgetNode(node);
    if (verdict.sync) this.publish(SUBJECTS.node(node, 'sync'), { from: this.node });
  }

  private sendSnapshot(to: string): void {
    const lines: PresenceLine[] = [];
    for (const gateway of this.directory.all())
      for (const line of gateway.lines.values()) if (line.isOpen) lines.push(this.describe(line));
    const subject = SUBJECTS.node(to, 'snapshot');
    for (let i = 0; i === 0 || i < lines.length; i += SNAPSHOT_CHUNK) {
      this.publish(subject, {
        node: this.node,
        instance: this.instance,
        seq: this.seq,
        first: i === 0,
        lines: lines.slice(i, i + SNAPSHOT_CHUNK),
      });
    }
  }

  private snapshot(part: z.infer<typeof snapshotSchema>): void {
    if (part.first) {
      this.directory.forgetNode(part.node);
      this.nodes.synced(part.node, part.instance, part.seq);
    }
    for (const line of part.lines) this.addLine(part.node, line);
  }

  /** Says this node is alive, and finds the nodes that are not. */
  private beat(): void {
    const { clock } = this.ctx;
    this.publish(SUBJECTS.heartbeat, { node: this.node, instance: this.instance, seq: this.seq });
    const now = clock.now();
    const timeout = this.settings.nodeTimeout;
    // Only a node that hears itself judges others: cut off from NATS, it would find them all gone.
    if (now - this.ownHeardAt < timeout) {
      const gone = this.nodes.expire(now - timeout);
      if (gone.length > 0) this.left(gone, `not heard from for ${timeout} ms`);
    }
    this.heartbeatTimer = clock.setTimeout(() => this.beat(), HEARTBEAT_MS);
  }

  /** Nodes that left: their lines are forgotten and their jobs requeued (after this node heard the fleet long enough). */
  private left(nodes: string[], why: string): void {
    for (const node of nodes) {
      const gateways = new Set(this.directory.forgetNode(node));
      this.log.warn({ gone: node, gateways: gateways.size, why }, 'a node left the fleet');
    }
    this.requeueOrphans();
  }

  private requeueOrphans(): void {
    const { clock } = this.ctx;
    if (!this.parts || clock.now() - this.startedAt < this.settings.nodeTimeout) return;
    this.parts.runner
      .requeueOrphans([this.node, ...this.nodes.alive()])
      .catch((err: Error) => this.log.error({ err: err.message }, 'jobs of a departed node not requeued'));
  }

  // ------------------------------------------------------------ requests from other nodes

  private async servePush(request: z.infer<typeof pushRequestSchema>, msg: Msg): Promise<void> {
    const line = this.directory
      .lines(request.gatewayId, 'push')
      .find((l) => l.connectionId === request.connectionId);
    let reply: RemotePushOutcome;
    if (!line || !this.parts) {
      reply = { ok: false, failure: `line ${request.connectionId} is not on node ${this.node} any more` };
    } else {
      const { pushId, dataType, payload, ackTimeoutMs } = request;
      const outcome = await this.parts.dispatcher.pushOnLine(
        line,
        { pushId, dataType, payload },
        ackTimeoutMs,
      );
      reply = outcome.ok
        ? { ok: true, idleBeforeMs: outcome.idleBeforeMs }
        : { ok: false, failure: `${outcome.failure} after ${outcome.idleBeforeMs} ms idle` };
    }
    msg.respond(encoder.encode(JSON.stringify(reply)));
  }

  // ------------------------------------------------------------ NATS plumbing

  private subscribe<S extends z.ZodType>(
    subject: string,
    schema: S,
    handle: (message: z.infer<S>, msg: Msg) => void | Promise<void>,
  ): void {
    this.nc?.subscribe(subject, {
      callback: (err, msg) => {
        if (err) {
          this.log.warn({ subject, err: err.message }, 'cluster subscription failed');
          return;
        }
        let parsed: z.ZodSafeParseResult<z.infer<S>>;
        try {
          parsed = schema.safeParse(JSON.parse(decoder.decode(msg.data)));
        } catch {
          parsed = { success: false } as z.ZodSafeParseResult<z.infer<S>>;
        }
        if (!parsed.success) {
          this.log.warn({ subject }, 'malformed cluster message dropped');
          return;
        }
        Promise.resolve(handle(parsed.data, msg)).catch((e: Error) =>
          this.log.error({ subject, err: e.message }, 'cluster message not handled'),
        );
      },
    });
  }

  private publish(subject: string, message: unknown): void {
    const nc = this.nc;
    if (!nc || nc.isClosed() || nc.isDraining()) return;
    nc.publish(subject, encoder.encode(JSON.stringify(message)));
  }

  private async request<S extends z.ZodType>(
    subject: string,
    message: unknown,
    timeoutMs: number,
    schema: S,
  ): Promise<z.infer<S> | { error: string }> {
    const nc = this.nc;
    if (!nc || nc.isClosed()) return { error: 'not connected to NATS' };
    try {
      const reply = await nc.request(subject, encoder.encode(JSON.stringify(message)), {
        timeout: timeoutMs,
      });
      const parsed = schema.safeParse(JSON.parse(decoder.decode(reply.data)));
      return parsed.success ? parsed.data : { error: 'malformed reply' };
    } catch (err) {
      return { error: (err as Error).message };
    }
  }

  private watchStatus(nc: NatsConnection): void {
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') this.log.warn({ nats: this.settings.nats }, 'cut off from NATS');
        if (status.type === 'reconnect') {
          // What was missed meanwhile comes with the next heartbeats (their seq shows the gap).
          this.nodes.heardAll(this.ctx.clock.now());
          this.log.info({ nats: this.settings.nats }, 'back on NATS');
        }
      }
    })();
  }
}
