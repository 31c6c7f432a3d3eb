import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import type { DirectMode } from '../../protocol/job/job-records.ts';
import type { DeviceRegistry } from '../devices/device-registry.ts';
import type { CloudLine } from '../push/cloud-line.ts';
import type { GatewayDirectory } from '../push/gateway-directory.ts';
import type { GatewayRegistry, RegisteredGateway } from '../registry/gateway-registry.ts';
import { decide, type GatewayLoad, type RunningJob } from '../scheduler/tunnel-scheduler.ts';
import type { DocumentSpool } from './document-spool.ts';
import {
  type Job,
  type JobStore,
  type NewJob,
  type RouteEntry,
  requestFingerprint,
  scopedIdempotencyKey,
} from './job-store.ts';
import { JobTransfer } from './job-transfer.ts';

/** A request the API turns into a 4xx: the message says what to change. */
export class JobRequestError extends Error {
  readonly status: 404 | 409 | 422;
  constructor(status: JobRequestError['status'], message: string) {
    super(message);
    this.name = 'JobRequestError';
    this.status = status;
  }
}

export interface JobRunnerOptions {
  store: JobStore;
  spool: DocumentSpool;
  devices: DeviceRegistry;
  directory: GatewayDirectory;
  /** The registered gateways: their tunnel limit and optional CPU threshold. */
  gateways: GatewayRegistry;
  /** This cloud node's name: the jobs it carries are marked with it (docs/fleet.md). */
  node: string;
  clock: Clock;
  logger: Logger;
  maxBytes: number;
  /** How a switched job's rest reaches a device that connects by itself; a relayed device always pulls. */
  directMode: DirectMode;
  /** Base URL devices use for their direct connection. */
  publicUrl: () => string;
  /** A device told to connect by itself must be connected within this, or the switch is abandoned. */
  connectTimeoutMs: number;
  /** ...and must finish the job on its connection within this once the tunnel is interrupted. */
  directTimeoutMs: number;
  resumeWithinMs: number;
  /** The other nodes of a fleet (absent: one node). */
  fleet?: JobFleet | undefined;
}

/** What the runner asks of the other nodes of a fleet (implemented over NATS by `cluster/`). */
export interface JobFleet {
  /** Asks a node to schedule a gateway's queued jobs. */
  schedule(node: string, gatewayId: string): void;
  /** Tells the node carrying a job that its device's own connection is up (it came in through another node). */
  directConnected(node: string, jobId: string): void;
}

/**
 * A gateway's load report older than this is not used: while jobs run the gateway reports
 * every second, otherwise its keep-alives may be an hour apart.
 */
export const LOAD_FRESH_MS = 30_000;

/**
 * What a client asks for; the runner adds the id, and the spool the size and hash.
 * `idempotencyKey` is the client's own key; `apiClient` names who sent it (its scope).
 */
export type NewJobRequest = Omit<NewJob, 'id' | 'size' | 'sha256' | 'createdAt' | 'requestFingerprint'> & {
  apiClient?: string;
};

/** What a device reports at the end of its direct connection. */
export type DirectReport = { bytes: number; sha256: string; pages?: number } | { error: string };

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * The cloud's job layer: accepts documents, schedules them onto their gateway's tunnels
 * under its tunnel limit, and when the gateway is saturated moves the lowest-priority
 * job of a direct-capable device onto the device's own connection (seed 001).
 * Every accepted job ends done or failed with a reason.
 */
export class JobRunner {
  private readonly running = new Map<string, JobTransfer>();
  private readonly directTimers = new Map<string, TimerHandle>();
  private readonly options: JobRunnerOptions;
  private readonly log: Logger;
  /** Highest number of tunnels in use per gateway since start (tests and metrics). */
  readonly peakTunnels = new Map<string, number>();
  private stopped = false;
  /** Gateways being scheduled now; `again` asks for one more pass when that one ends. */
  private readonly scheduling = new Map<string, { again: boolean }>();
  /** Gateways whose last schedule call came from another node: not handed on again. */
  private readonly handOn = new Set<string>();

  constructor(options: JobRunnerOptions) {
    this.options = options;
    this.log = options.logger.child({ part: 'jobs' });
    options.directory.on('line-up', (line) => {
      void this.lineUp(line);
    });
  }

  private async lineUp(line: CloudLine): Promise<void> {
    // The device registry learns each gateway's devices from its hellos, before its jobs are scheduled.
    const { devices, clock } = this.options;
    if (line.hello.devices) {
      await devices
        .report(line.gatewayId, line.hello.devices, clock.now())
        .catch((err: Error) =>
          this.log.warn({ gateway: line.gatewayId, err: err.message }, 'devices of a hello not stored'),
        );
    }
    if (line.role === 'push') this.schedule(line.gatewayId);
  }

  /**
   * Picks up jobs this node's previous run left unfinished: a job on a tunnel (or in a switch
   * not yet interrupted: its tunnel is gone) is queued again and resumes on a new tunnel.
   */
  async start(): Promise<void> {
    const { store, clock, node } = this.options;
    await store.requeue({ of: [node] }, clock.now());
    for (const job of await store.unfinished()) {
      if (job.state === 'via-direct') this.armDirectTimer(job.id);
    }
  }

  /**
   * Puts back in the queue the jobs that nodes no longer alive left on their tunnels, and
   * schedules them: the gateway resumes each at the offset it holds, so a job still
   * finishes once (docs/fleet.md).
   */
  async requeueOrphans(liveNodes: readonly string[]): Promise<void> {
    const { store, clock } = this.options;
    const jobs = await store.requeue({ allBut: liveNodes }, clock.now());
    if (jobs.length > 0) this.log.info({ jobs: jobs.map((j) => j.id) }, 'jobs of a departed node requeued');
    for (const gatewayId of new Set(jobs.map((j) => j.gatewayId))) this.schedule(gatewayId);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.running.values()) t.cancel('the cloud is stopping');
    for (const timer of this.directTimers.values()) this.options.clock.clearTimeout(timer);
  }

  /** Checks a request before its document is read; throws JobRequestError. */
  async validate(request: NewJobRequest): Promise<void> {
    const gateway = await this.options.gateways.get(request.gatewayId);
    if (!gateway) throw new JobRequestError(404, `no gateway "${request.gatewayId}" is registered`);
    if (gateway.disabled) throw new JobRequestError(409, `gateway "${request.gatewayId}" is disabled`);
    const known = await this.options.devices.list(request.gatewayId);
    const device = known.find((d) => d.id === request.deviceId);
    if (known.length > 0 && !device) {
      throw new JobRequestError(
        422,
        `gateway "${request.gatewayId}" has no device "${request.deviceId}" (it has: ${known.map((d) => d.id).join(', ')})`,
      );
    }
    if (device && !device.jobTypes.includes(request.type)) {
      throw new JobRequestError(422, `device "${request.deviceId}" takes ${device.jobTypes.join(', ')} jobs`);
    }
  }

  /**
   * Spools the document and queues the job. A repeated idempotency key (of the same API
   * client, for the same gateway) returns the first job when the request is the same,
   * document included, and is refused with 422 when it is not: nothing is dropped silently.
   */
  async submit(request: NewJobRequest, body: Readable): Promise<{ job: Job; created: boolean }> {
    await this.validate(request);
    const { store, spool, clock } = this.options;
    const { apiClient, ...asked } = request;
    const id = randomUUID();
    const { size, sha256 } = await spool.receive(body, id, this.options.maxBytes);
    const fingerprint = requestFingerprint({ ...asked, size, sha256 });
    const key =
      asked.idempotencyKey === null
        ? null
        : scopedIdempotencyKey(apiClient ?? '', asked.gatewayId, asked.idempotencyKey);
    const repeat = async (): Promise<{ job: Job; created: false } | null> => {
      const first = key === null ? undefined : await store.byIdempotencyKey(key);
      if (!first) return null;
      await spool.remove(id);
      if (first.requestFingerprint !== null && first.requestFingerprint !== fingerprint) {
        throw new JobRequestError(
          422,
          `Idempotency-Key "${asked.idempotencyKey}" was used for job ${first.id}, a different request (device, options or document); send a new key for a new job`,
        );
      }
      return { job: first, created: false };
    };
    const earlier = await repeat();
    if (earlier) return earlier;
    let job: Job;
    try {
      job = await store.insert({
        ...asked,
        idempotencyKey: key,
        requestFingerprint: fingerprint,
        id,
        size,
        sha256,
        createdAt: clock.now(),
      });
    } catch (err) {
      // The same key arrived twice at once: the other one was stored first.
      const raced = await repeat();
      if (raced) return raced;
      throw err;
    }
    this.log.info(
      { jobId: id, gateway: job.gatewayId, device: job.deviceId, size, priority: job.priority },
      'job accepted',
    );
    this.schedule(job.gatewayId);
    return { job, created: true };
  }

  /** Tunnels in use per gateway now. */
  tunnelsInUse(gatewayId: string): number {
    return [...this.running.values()].filter((t) => t.job.gatewayId === gatewayId && t.route !== 'direct')
      .length;
  }

  /**
   * Starts, switches or leaves waiting the gateway's queued jobs, highest priority first.
   * Returns at once; passes for one gateway run one at a time, so a job starts once. In a
   * fleet only the node that runs the gateway's jobs (jobsNode) schedules; another hands the
   * call on to it, unless the call came from another node (no ping-pong while their views of
   * the fleet differ).
   */
  schedule(gatewayId: string, from: 'here' | 'fleet' = 'here'): void {
    if (this.stopped) return;
    if (from === 'here') this.handOn.delete(gatewayId);
    else this.handOn.add(gatewayId);
    const running = this.scheduling.get(gatewayId);
    if (running) {
      running.again = true;
      return;
    }
    const pass = { again: true };
    this.scheduling.set(gatewayId, pass);
    void (async () => {
      try {
        while (pass.again && !this.stopped) {
          pass.again = false;
          await this.schedulePass(gatewayId);
        }
      } catch (err) {
        this.log.error({ gateway: gatewayId, err: (err as Error).message }, 'scheduling failed');
      } finally {
        this.scheduling.delete(gatewayId);
      }
    })();
  }

  private async schedulePass(gatewayId: string): Promise<void> {
    const { store, devices, directory, fleet, node } = this.options;
    const queued = await store.queued(gatewayId);
    if (queued.length === 0) return;
    const at = this.jobsNode(gatewayId);
    if (at !== node) {
      if (at !== null && fleet && !this.handOn.has(gatewayId)) fleet.schedule(at, gatewayId);
      return;
    }
    if (directory.lines(gatewayId, 'push').length === 0) return;
    const limits = await this.options.gateways.get(gatewayId);
    if (!limits || limits.disabled) return;
    for (const job of queued) {
      const device = await devices.get(gatewayId, job.deviceId);
      if (!device) {
        await this.finish(job.id, {
          state: 'failed',
          error: `gateway "${gatewayId}" reports no device "${job.deviceId}"`,
        });
        continue;
      }
      const running = await this.runningJobs(gatewayId);
      const decision = decide(
        { jobId: job.id, priority: job.priority, directCapable: device.directCapable },
        running,
        this.load(gatewayId, limits),
      );
      if (decision.kind === 'tunnel') {
        await this.startTransfer(job);
        if (decision.andSwitch)
          await this.switchJob(decision.andSwitch.victimJobId, decision.andSwitch.reason);
        continue;
      }
      if (decision.kind === 'direct') {
        await this.startTransfer(job);
        await this.switchJob(job.id, decision.reason, true);
        continue;
      }
      if (decision.kind === 'switch') await this.switchJob(decision.victimJobId, decision.reason);
      this.log.debug({ jobId: job.id, decision }, 'job waits for a tunnel');
      return;
    }
  }

  /**
   * The node that runs a gateway's jobs: of the nodes holding its push lines, the first by
   * name, so every node names the same one (null: no node holds a line). One node's runner
   * keeps the gateway's tunnel limit; the job store's claim keeps a job on one node.
   */
  private jobsNode(gatewayId: string): string | null {
    const { directory, node } = this.options;
    const nodes = directory.remoteLines(gatewayId, 'push').map((l) => l.node);
    if (directory.lines(gatewayId, 'push').length > 0) nodes.push(node);
    return nodes.sort()[0] ?? null;
  }

  private async runningJobs(gatewayId: string): Promise<RunningJob[]> {
    const transfers = [...this.running.values()].filter((t) => t.job.gatewayId === gatewayId);
    if (transfers.length === 0) return [];
    const known = new Map((await this.options.devices.list(gatewayId)).map((d) => [d.id, d]));
    return transfers.map((t) => ({
      jobId: t.job.id,
      priority: t.job.priority,
      directCapable: known.get(t.job.deviceId)?.directCapable ?? false,
      route: t.route,
      startedAt: t.startedAt,
    }));
  }

  private load(gatewayId: string, limits: RegisteredGateway): GatewayLoad {
    const presence = this.options.directory.get(gatewayId);
    const reported = this.options.directory.lines(gatewayId)[0]?.hello.maxTunnels;
    const load = presence?.load;
    const fresh = load && this.options.clock.now() - load.at <= LOAD_FRESH_MS ? load : undefined;
    return {
      maxTunnels: Math.min(limits.maxTunnels, reported ?? Number.POSITIVE_INFINITY),
      cpuUsage: fresh?.cpuUsage ?? null,
      cpuThreshold: limits.cpuThreshold,
      lineBytesPerSec: fresh?.lineBytesPerSec ?? null,
      lineThresholdBytesPerSec: limits.lineThreshold,
    };
  }

  private async startTransfer(queued: Job): Promise<void> {
    const { store, clock, directory, spool } = this.options;
    // Another pass (or, in a fleet, another node) may have taken it meanwhile.
    const job = await store.claim(queued.id, this.options.node, clock.now());
    if (!job) return;
    const transfer = new JobTransfer(job, {
      clock,
      logger: this.options.logger,
      read: (offset) => spool.read(job.id, offset),
      pickLine: () => {
        const lines = directory.lines(job.gatewayId, 'push').filter((l) => l.tunnels && !l.tunnels.closed);
        return lines.sort((a, b) => (a.tunnels?.stats().streams ?? 0) - (b.tunnels?.stats().streams ?? 0))[0];
      },
      waitForLine: (ms) =>
        new Promise((resolve) => {
          const timer = clock.setTimeout(done, ms);
          function done() {
            clock.clearTimeout(timer);
            directory.off('line-up', done);
            directory.off('remote-line-up', done);
            resolve();
          }
          directory.on('line-up', done);
          directory.on('remote-line-up', done);
        }),
      elsewhere: () => {
        const at = this.jobsNode(job.gatewayId);
        return at !== null && at !== this.options.node;
      },
      resumeWithinMs: this.options.resumeWithinMs,
      onLeg: (line, offset) => {
        this.addLeg(job.id, { route: 'tunnel', at: clock.now(), offset, line }).catch((err: Error) =>
          this.log.warn({ jobId: job.id, err: err.message }, 'could not record a tunnel leg'),
        );
      },
      onSwitchRefused: () => {
        this.switchOff(job.id).catch((err: Error) =>
          this.log.error({ jobId: job.id, err: err.message }, 'could not call a refused switch off'),
        );
      },
    });
    this.running.set(job.id, transfer);
    const inUse = this.tunnelsInUse(job.gatewayId);
    this.peakTunnels.set(job.gatewayId, Math.max(this.peakTunnels.get(job.gatewayId) ?? 0, inUse));
    this.log.info({ jobId: job.id, gateway: job.gatewayId, tunnels: inUse }, 'job goes through a tunnel');
    transfer
      .run()
      .then(async (outcome) => {
        this.running.delete(job.id);
        if (outcome.kind === 'done') {
          await this.finish(job.id, {
            state: 'done',
            bytesTunnel: job.size - ((await store.get(job.id))?.bytesDirect ?? 0),
            pages: outcome.pages ?? null,
          });
        } else if (outcome.kind === 'switched') {
          this.log.info(
            { jobId: job.id, offset: outcome.offset },
            'job tunnel closed: the job continues on the device’s own connection',
          );
          const now = await store.get(job.id);
          // The device may have fetched (and even finished) the rest before the tunnel's last word came.
          if (now?.state === 'switching' || now?.state === 'via-direct') {
            await store.update(job.id, { bytesTunnel: outcome.offset, node: null }, clock.now());
            this.armDirectTimer(job.id);
          }
        } else if (outcome.kind === 'handed-off') {
          // The gateway resumes it at the offset it holds, through the node that now holds its lines.
          this.log.info(
            { jobId: job.id },
            'no line of the gateway here any more: the job goes on on another node',
          );
          await store.update(job.id, { state: 'queued', node: null, directTokenHash: null }, clock.now());
        } else {
          await this.finish(job.id, { state: 'failed', error: outcome.reason });
        }
      })
      .catch((err: Error) => this.log.error({ jobId: job.id, err: err.message }, 'job outcome not stored'))
      .finally(() => this.schedule(job.gatewayId));
  }

  /** Appends a leg to a job's route history. */
  private async addLeg(jobId: string, leg: RouteEntry): Promise<void> {
    const { store, clock } = this.options;
    const current = await store.get(jobId);
    if (current) await store.update(jobId, { route: [...current.route, leg] }, clock.now());
  }

  /**
   * Seed 001's switch, make-before-break: the device is told to connect by itself (7G) while its
   * tunnel goes on carrying data; once its connection is up (directConnected) the tunnel's part is
   * interrupted (7L). A direct start (#68–#74) sends no data on the tunnel at all.
   */
  private async switchJob(victimId: string, reason: string, directStart = false): Promise<void> {
    const transfer = this.running.get(victimId);
    if (transfer?.route !== 'tunnel') return;
    const token = randomBytes(24).toString('base64url');
    await this.options.store.update(
      victimId,
      { state: 'switching', directTokenHash: hashToken(token) },
      this.options.clock.now(),
    );
    // The registry says whether the site lets the device out or only its gateway (which then relays).
    const via =
      (await this.options.devices.get(transfer.job.gatewayId, transfer.job.deviceId))?.directVia ?? 'own';
    // The gateway's relay passes only the pull variant's HTTP requests.
    const mode = via === 'gateway' ? 'pull' : this.options.directMode;
    this.log.info(
      { jobId: victimId, reason, via, mode, directStart },
      directStart
        ? 'gateway saturated: the job starts on its device’s own connection'
        : 'gateway saturated: switching a job to a direct connection',
    );
    transfer.requestSwitch({ url: this.options.publicUrl(), token, via, mode, directStart });
    this.armTimer(victimId, this.options.connectTimeoutMs, () => {
      if (!transfer.abandonSwitch()) return;
      this.log.warn(
        { jobId: victimId, connectTimeoutMs: this.options.connectTimeoutMs },
        'the device did not connect by itself in time; the job stays on its tunnel',
      );
      return this.switchOff(victimId);
    });
  }

  /** A switch that did not happen: the token is void, the job is on its tunnel, others may switch. */
  private async switchOff(jobId: string): Promise<void> {
    this.clearTimer(jobId);
    const job = await this.options.store.get(jobId);
    if (job?.state !== 'switching') return;
    await this.options.store.update(
      jobId,
      { state: 'via-tunnel', directTokenHash: null },
      this.options.clock.now(),
    );
    this.schedule(job.gatewayId);
  }

  private armDirectTimer(jobId: string): void {
    this.armTimer(jobId, this.options.directTimeoutMs, async () => {
      const job = await this.options.store.get(jobId);
      if (job && (job.state === 'switching' || job.state === 'via-direct')) {
        await this.finish(jobId, {
          state: 'failed',
          error: `the device did not finish the job on its direct connection within ${this.options.directTimeoutMs} ms`,
        });
      }
    });
  }

  private armTimer(jobId: string, ms: number, fire: () => Promise<void> | undefined): void {
    this.clearTimer(jobId);
    this.directTimers.set(
      jobId,
      this.options.clock.setTimeout(() => {
        this.directTimers.delete(jobId);
        fire()?.catch((err: Error) => this.log.error({ jobId, err: err.message }, 'job timer failed'));
      }, ms),
    );
  }

  private clearTimer(jobId: string): void {
    this.options.clock.clearTimeout(this.directTimers.get(jobId));
    this.directTimers.delete(jobId);
  }

  // ------------------------------------------------------------ direct connections

  /** The job a device's direct connection is for, if its token is right. */
  async authorizeDirect(jobId: string, token: string | undefined): Promise<Job> {
    const job = await this.options.store.get(jobId);
    const expected = job?.directTokenHash;
    const given = token ? hashToken(token) : '';
    if (!job || !expected || !timingSafeEqual(Buffer.from(given.padEnd(64)), Buffer.from(expected))) {
      throw new JobRequestError(404, 'no job waits for a direct connection with this token');
    }
    if (job.state !== 'switching' && job.state !== 'via-direct') {
      throw new JobRequestError(409, `job ${jobId} is ${job.state}`);
    }
    return job;
  }

  /**
   * The device's own connection is up (seed #64): its tunnel's part is interrupted (7L) at the
   * next record boundary, and the tunnel closes once the device says what it holds.
   */
  directConnected(job: Job): void {
    const transfer = this.running.get(job.id);
    if (!transfer) {
      // In a fleet the device may come in through any node; the one carrying the tunnel interrupts it.
      const { fleet, node } = this.options;
      if (fleet && job.node && job.node !== node) fleet.directConnected(job.node, job.id);
      return;
    }
    if (!transfer.interrupt()) return;
    this.armDirectTimer(job.id);
    this.log.info({ jobId: job.id }, 'the device’s own connection is up: interrupting its tunnel');
  }

  /** A device holding `offset` bytes takes the rest of its job over its own connection. */
  async directFetch(job: Job, offset: number): Promise<void> {
    if (offset > job.size)
      throw new JobRequestError(422, `offset ${offset} is beyond the document (${job.size} bytes)`);
    const { store, clock } = this.options;
    const last = job.route.at(-1);
    if (last?.route === 'direct') {
      await store.update(job.id, { state: 'via-direct' }, clock.now());
      return;
    }
    // The first direct leg: its offset is what came through tunnels (the gateway's `switched` says the same).
    const route = [...job.route, { route: 'direct' as const, at: clock.now(), offset }];
    await store.update(job.id, { state: 'via-direct', route, bytesTunnel: offset }, clock.now());
  }

  /** The device's report at the end of its direct connection. */
  directReport(job: Job, report: DirectReport): Promise<Job> {
    this.clearTimer(job.id);
    if ('error' in report) return this.finish(job.id, { state: 'failed', error: `device: ${report.error}` });
    if (report.bytes !== job.size || report.sha256 !== job.sha256) {
      return this.finish(job.id, {
        state: 'failed',
        error: `the device holds ${report.bytes} bytes (sha256 ${report.sha256}), not the document’s ${job.size} (${job.sha256})`,
      });
    }
    const direct = job.route.find((r) => r.route === 'direct');
    return this.finish(job.id, {
      state: 'done',
      bytesDirect: job.size - (direct?.offset ?? job.bytesTunnel),
      pages: report.pages ?? null,
    });
  }

  private async finish(jobId: string, changes: Partial<Job> & { state: 'done' | 'failed' }): Promise<Job> {
    const { store, clock, spool } = this.options;
    const job = await store.update(jobId, { ...changes, directTokenHash: null, node: null }, clock.now());
    if (changes.state === 'done')
      this.log.info({ jobId, bytesTunnel: job.bytesTunnel, bytesDirect: job.bytesDirect }, 'job done');
    else this.log.warn({ jobId, error: job.error }, 'job failed');
    spool.remove(jobId).catch(() => {});
    return job;
  }
}
