import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { DirectConnect } from '../../devices/device-driver.ts';
import type { Logger } from '../../log/logger.ts';
import {
  type ConnectCommand,
  encodeEvent,
  type JobEvent,
  type JobRecord,
  JobRecordDecoder,
  JobStreamError,
} from '../../protocol/job/job-records.ts';
import { jobTargetOf } from '../../protocol/job/job-target.ts';
import type { StreamRequest } from '../../tunnel/tunnel-mux.ts';
import type { TunnelStream } from '../../tunnel/tunnel-stream.ts';
import type { DeviceRegistry } from '../devices/device-registry.ts';
import type { LineMeter } from '../load/line-meter.ts';
import type { ActiveTunnel, TunnelRecord } from '../tunnels/tunnel-endpoint.ts';
import { DeviceJob } from './device-job.ts';

export interface JobTunnelsOptions {
  devices: DeviceRegistry;
  clock: Clock;
  logger: Logger;
  /** How long a device's half-sent job waits for the cloud to resume it. */
  resumeGraceMs: number;
  /** Jobs held at once (running or waiting for a resume); more are refused. */
  maxJobs: number;
  /** How long a settled job's outcome is kept for a cloud that asks again. */
  keepSettledMs?: number;
  /**
   * For a switch "via gateway": remembers the job and gives the base URL of this gateway's
   * LAN relay to the cloud at cloudUrl (undefined: no relay is configured).
   */
  relayDirect?: (jobId: string, cloudUrl: string) => { url: string } | { refused: string } | undefined;
  /** Measures the line's speed on job tunnels' data (seed 001's line-speed trigger). */
  lineMeter?: LineMeter;
}

const NO_RELAY =
  'the device reaches the cloud only through this gateway (via gateway), but the gateway has no pushProxy listener to relay its direct connection: configure pushProxy';

/** A job as the status page sees it: how far it got, and its last word once settled. */
export interface JobSummary {
  jobId: string;
  deviceId: string;
  /** The whole document's size, when the cloud said it. */
  size: number | undefined;
  /** Document bytes the gateway took from tunnels so far. */
  received: number;
  /** Tunnels that carried it so far (more than one: resumed after a cut line). */
  tunnels: number;
  /** A tunnel carries it right now. */
  carried: boolean;
  final: JobEvent | undefined;
  startedAt: number;
  settledAt: number | undefined;
}

/** Settled jobs since start, by their last word. */
export type JobTotals = Record<'done' | 'switched' | 'failed', number>;

/** A stream carrying a job now, and where it started. */
interface Carrier {
  stream: TunnelStream;
  openedAt: number;
  startOffset: number;
}

/**
 * Tunnels whose OPEN names a device: the job stream (docs/jobs.md). Each carries one job's
 * document to the device's driver and the job's outcome back. A job outlives its tunnel, so
 * a cut line resumes where the gateway stopped taking bytes, and a settled job answers a
 * repeated OPEN with its outcome instead of printing again.
 */
export class JobTunnels {
  private readonly jobs = new Map<string, DeviceJob>();
  private readonly forgetTimers = new Set<TimerHandle>();
  private closed = false;
  private readonly options: JobTunnelsOptions;
  private readonly log: Logger;
  /** Streams currently carrying a job to a device. */
  private carrying = new Map<string, Carrier>();
  /** Settled jobs since start, by outcome (metrics). */
  readonly totals: JobTotals = { done: 0, switched: 0, failed: 0 };

  constructor(options: JobTunnelsOptions) {
    this.options = options;
    this.log = options.logger.child({ part: 'jobs' });
  }

  /** Jobs on devices right now (including those waiting for a resume). */
  get activeJobs(): number {
    return [...this.jobs.values()].filter((j) => !j.final).length;
  }

  /** The jobs held now (running, waiting for a resume, or settled within keepSettledMs), oldest first. */
  list(): JobSummary[] {
    return [...this.jobs.values()].map((job) => ({
      jobId: job.jobId,
      deviceId: job.device.config.id,
      size: job.size,
      received: job.received,
      tunnels: job.tunnels,
      carried: this.carrying.has(job.jobId),
      final: job.final,
      startedAt: job.startedAt,
      settledAt: job.settledAt,
    }));
  }

  /** The streams carrying jobs now, with their byte counts so far. */
  activeTunnels(): ActiveTunnel[] {
    return [...this.carrying].map(([jobId, c]) => {
      const job = this.jobs.get(jobId);
      return {
        id: `job/${jobId}`,
        jobId,
        target: `device:${job?.device.config.id ?? '?'}`,
        openedAt: c.openedAt,
        bytesToDevice: (job?.received ?? c.startOffset) - c.startOffset,
        bytesFromDevice: c.stream.offsets.sent,
      };
    });
  }

  /** Whether an OPEN for this device would be taken (the tunnel-establishment command asks first). */
  check(deviceId: string): { allowed: true } | { allowed: false; reason: string } {
    return this.options.devices.get(deviceId)
      ? { allowed: true }
      : { allowed: false, reason: `no device "${deviceId}" is configured on this gateway` };
  }

  /**
   * Takes one OPEN naming a device; `onRecord` receives the tunnel's record when it closes.
   * Returns false when it refused the OPEN.
   */
  handle(request: StreamRequest, onRecord: (record: TunnelRecord) => void): boolean {
    const { target } = request;
    const deviceId = target.deviceId ?? '';
    const device = this.options.devices.get(deviceId);
    if (!device) {
      this.refuse(request, 'NOT_ALLOWED', `no device "${deviceId}" is configured on this gateway`);
      return false;
    }
    const fields = jobTargetOf(target);
    if ('problem' in fields) {
      this.refuse(request, 'BAD_TARGET', fields.problem);
      return false;
    }
    const wants = fields.jobType ?? 'print';
    const takes = device.config.driver === 'storage' ? 'storage' : 'print';
    if (wants !== takes) {
      this.refuse(request, 'BAD_TARGET', `device "${deviceId}" takes ${takes} jobs, not ${wants} jobs`);
      return false;
    }
    let job = this.jobs.get(target.jobId);
    if (job && job.device !== device) {
      this.refuse(request, 'BAD_TARGET', `job ${target.jobId} runs on device "${job.device.config.id}"`);
      return false;
    }
    if (!job) {
      if (this.activeJobs >= this.options.maxJobs) {
        this.refuse(request, 'LIMIT', `already running ${this.activeJobs} jobs`);
        return false;
      }
      job = new DeviceJob({
        jobId: target.jobId,
        device,
        name: fields.name,
        format: fields.format,
        size: fields.size,
        clock: this.options.clock,
        graceMs: this.options.resumeGraceMs,
      });
      this.jobs.set(target.jobId, job);
      const created = job;
      job.onFinal((event) => this.settled(created, event));
      this.log.info({ jobId: target.jobId, device: deviceId }, 'job started');
    } else {
      this.log.info({ jobId: target.jobId, device: deviceId, offset: job.received }, 'job resumed');
    }
    // A newer tunnel for the same job wins: the old one's line is dead or dying.
    this.carrying.get(target.jobId)?.stream.destroy();
    this.carry(request, job, onRecord);
    return true;
  }

  /** Aborts every job (shutdown) and drops the timers that would forget settled ones. */
  close(): void {
    this.closed = true;
    for (const job of this.jobs.values()) job.fail('the gateway is stopping');
    for (const { stream } of this.carrying.values()) stream.destroy();
    for (const timer of this.forgetTimers) this.options.clock.clearTimeout(timer);
    this.forgetTimers.clear();
  }

  private carry(request: StreamRequest, job: DeviceJob, onRecord: (record: TunnelRecord) => void): void {
    const { clock } = this.options;
    const stream = request.accept();
    const openedAt = clock.now();
    const startOffset = job.received;
    this.carrying.set(job.jobId, { stream, openedAt, startOffset });
    job.attach();
    let outcome = 'closed';
    let closed = false;
    const send = (event: JobEvent) => {
      if (!stream.destroyed && stream.writable) stream.write(encodeEvent(event));
    };
    const meter = this.options.lineMeter;
    // The tunnel waits for the line while the job takes more and its device is not behind.
    const waitForLine = (on: boolean) => meter?.waiting(stream, on && job.open && !closed);
    const finish = (why: string) => {
      if (closed) return;
      closed = true;
      waitForLine(false);
      stopFinal();
      stopDirect();
      const carrier = this.carrying.get(job.jobId)?.stream === stream;
      if (carrier) this.carrying.delete(job.jobId);
      if (!job.final) {
        outcome = why;
        // A newer tunnel already carries the job: only the last one leaving starts the grace period.
        if (carrier) job.detach();
      }
      const record: TunnelRecord = {
        jobId: job.jobId,
        target: `device:${job.device.config.id}`,
        openedAt,
        closedAt: clock.now(),
        bytesToDevice: job.received - startOffset,
        bytesFromDevice: stream.offsets.sent,
        outcome,
        // Make-before-break, as the journal shows it: the device's own connection came up while this tunnel was open.
        directUpAt: job.directUpAt !== undefined && job.directUpAt >= openedAt ? job.directUpAt : null,
      };
      this.log.info(record, 'job tunnel closed');
      onRecord(record);
    };
    const stopFinal = job.onFinal((event) => {
      outcome = event.event === 'failed' ? `failed: ${event.reason}` : event.event;
      send(event);
      stream.end();
    });
    const stopDirect = job.onDirect((state) => {
      if (this.carrying.get(job.jobId)?.stream !== stream) return;
      if (state === 'connected') {
        this.log.info(
          { jobId: job.jobId, offset: job.received },
          'the device’s own connection to the cloud is up',
        );
      } else {
        this.log.warn(
          { jobId: job.jobId },
          'the device cannot connect directly; the job stays on the tunnel',
        );
        send({ event: 'switch-refused', reason: 'the device cannot connect to the cloud by itself' });
      }
    });
    send({ event: 'ready', offset: job.received });

    const decoder = new JobRecordDecoder();
    waitForLine(true);
    stream.on('data', (chunk: Buffer) => {
      meter?.received(chunk.length);
      let records: ReturnType<JobRecordDecoder['push']>;
      try {
        records = decoder.push(chunk);
      } catch (err) {
        const reason = err instanceof JobStreamError ? err.message : String(err);
        this.log.warn({ jobId: job.jobId, err: reason }, 'malformed job stream');
        job.fail(`malformed job stream: ${reason}`);
        return;
      }
      let full = false;
      for (const record of records) full = !this.apply(job, record, send) || full;
      if (full) {
        stream.pause();
        waitForLine(false);
        job.drain().then(() => {
          stream.resume();
          waitForLine(true);
        });
      } else waitForLine(true);
    });
    stream.on('error', (err) => finish(err.message));
    stream.on('close', () => finish('closed'));
  }

  /**
   * A command stream (docs/jobs.md): one CONNECT record for a job in progress, apart from the job
   * stream so that it overtakes the document bytes in flight. Refusals are answered on it.
   */
  command(request: StreamRequest): boolean {
    const { target } = request;
    const fields = jobTargetOf(target);
    if ('problem' in fields || fields.command !== 'connect') {
      this.refuse(request, 'BAD_TARGET', 'problem' in fields ? fields.problem : 'not a command stream');
      return false;
    }
    const job = this.jobs.get(target.jobId);
    if (!job || job.device.config.id !== target.deviceId || !job.open) {
      this.refuse(
        request,
        'BAD_TARGET',
        `no job ${target.jobId} is taking data on device "${target.deviceId}"`,
      );
      return false;
    }
    const stream = request.accept();
    const send = (event: JobEvent) => {
      if (!stream.destroyed && stream.writable) stream.write(encodeEvent(event));
    };
    const decoder = new JobRecordDecoder();
    stream.on('data', (chunk: Buffer) => {
      try {
        for (const record of decoder.push(chunk)) {
          if (record.type === 'connect') this.connect(job, record.command, send);
        }
      } catch (err) {
        stream.reset('PROTOCOL', err instanceof JobStreamError ? err.message : String(err));
      }
    });
    stream.on('end', () => stream.end());
    stream.on('error', () => {});
    return true;
  }

  /** Applies one record of the cloud to the job; false when the device is behind (wait for drain). */
  private apply(job: DeviceJob, record: JobRecord, send: (event: JobEvent) => void): boolean {
    switch (record.type) {
      case 'data':
        // Bytes after END or INTERRUPT are ignored: the job is already decided.
        return job.open ? job.write(record.payload) : true;
      case 'end':
        if (record.end.size !== job.received) {
          job.fail(`the cloud ended the document at ${record.end.size} bytes but ${job.received} arrived`);
        } else job.end();
        return true;
      case 'connect':
        this.connect(job, record.command, send);
        return true;
      case 'interrupt':
        if (record.interrupt.offset !== job.received) {
          job.fail(
            `the cloud interrupted the job at ${record.interrupt.offset} bytes but ${job.received} arrived`,
          );
        } else {
          this.log.info(
            { jobId: job.jobId, offset: job.received },
            'interrupting the job: the device takes the rest',
          );
          job.interrupt();
        }
        return true;
    }
  }

  /** Seed 001's connection-establishment command (7G), passed to the device while the data goes on. */
  private connect(job: DeviceJob, command: ConnectCommand, send: (event: JobEvent) => void): void {
    if (!job.canHandOver) {
      send({
        event: 'switch-refused',
        reason: `the ${job.device.config.driver} driver cannot hand a job over`,
      });
      return;
    }
    const target = this.directTarget(job, command);
    if ('refused' in target) {
      this.log.warn({ jobId: job.jobId, reason: target.refused }, 'cannot hand the job over');
      send({ event: 'switch-refused', reason: target.refused.slice(0, 1024) });
      return;
    }
    // A repeated CONNECT (resent on a resumed tunnel) changes nothing.
    if (!job.connect(target)) return;
    this.log.info(
      { jobId: job.jobId, offset: job.received, via: command.via, mode: target.mode, url: target.url },
      'telling the device to connect to the cloud by itself',
    );
  }

  /** Where the device is to connect: the cloud itself, or this gateway's LAN relay to it. */
  private directTarget(job: DeviceJob, command: ConnectCommand): DirectConnect | { refused: string } {
    if (command.via === 'own') return { url: command.url, token: command.token, mode: command.mode };
    const route = this.options.relayDirect?.(job.jobId, command.url) ?? { refused: NO_RELAY };
    // The relay passes only the pull variant's HTTP requests, whatever the cloud asked for.
    return 'refused' in route ? route : { url: route.url, token: command.token, mode: 'pull' };
  }

  private settled(job: DeviceJob, event: JobEvent): void {
    if (event.event !== 'ready' && event.event !== 'switch-refused') this.totals[event.event]++;
    this.log.info({ jobId: job.jobId, device: job.device.config.id, ...event }, 'job settled');
    // Keep the outcome for a cloud that missed it (its line died just then), then forget the job.
    // Not once closed: a 10-minute timer would keep a stopped gateway's process alive.
    if (this.closed) return;
    const keep = this.options.keepSettledMs ?? 10 * 60_000;
    const timer = this.options.clock.setTimeout(() => {
      this.forgetTimers.delete(timer);
      if (this.jobs.get(job.jobId) === job) this.jobs.delete(job.jobId);
    }, keep);
    this.forgetTimers.add(timer);
  }

  private refuse(request: StreamRequest, code: 'NOT_ALLOWED' | 'BAD_TARGET' | 'LIMIT', reason: string): void {
    this.log.warn({ jobId: request.target.jobId, code }, `job tunnel refused: ${reason}`);
    request.refuse(code, reason);
  }
}
