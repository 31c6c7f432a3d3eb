import { once } from 'node:events';
import type { Readable } from 'node:stream';
import type { Clock } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import {
  type DirectMode,
  dataHeader,
  encodeConnect,
  encodeEnd,
  encodeInterrupt,
  type JobEvent,
  JobEventDecoder,
  JobStreamError,
} from '../../protocol/job/job-records.ts';
import type { JobTarget } from '../../protocol/job/job-target.ts';
import { TunnelError } from '../../tunnel/tunnel-error.ts';
import type { TunnelStream } from '../../tunnel/tunnel-stream.ts';
import type { DirectVia } from '../devices/device-registry.ts';
import type { CloudLine } from '../push/cloud-line.ts';
import type { Job } from './job-store.ts';

/** How a job's time on tunnels ended. */
export type TransferOutcome =
  | { kind: 'done'; pages: number | undefined }
  | { kind: 'switched'; offset: number }
  | { kind: 'failed'; reason: string }
  /** This node holds no line of the gateway, another does: that node resumes the job. */
  | { kind: 'handed-off' };

export interface TransferDeps {
  clock: Clock;
  logger: Logger;
  /** The document from an offset. */
  read: (offset: number) => Readable;
  /** A live push line of the job's gateway to open the tunnel on, if any. */
  pickLine: () => CloudLine | undefined;
  /** Resolves when a line of the gateway comes up (here or, in a fleet, on another node), or after ms. */
  waitForLine: (ms: number) => Promise<void>;
  /** With no line here: whether another node of the fleet holds one and should carry on. */
  elsewhere?: () => boolean;
  /** Keep retrying a broken tunnel for this long without progress. */
  resumeWithinMs: number;
  /** A new tunnel leg began on a line at an offset. */
  onLeg: (line: string, offset: number) => void;
  /** The driver or device cannot connect directly: the switch is off, the job stays on its tunnel. */
  onSwitchRefused: (reason: string) => void;
}

/** Seed 001's connection-establishment command as the cloud asks for it. */
export interface SwitchRequest {
  url: string;
  token: string;
  via: DirectVia;
  mode: DirectMode;
  /** A job that starts direct (#68–#74): its tunnel carries only the command, no document bytes. */
  directStart: boolean;
}

/** Pause between tunnel attempts; the line supervisor does the real backoff of lines. */
const RETRY_DELAY_MS = 250;
/** How long to wait for the tunnel to close after the job's last event. */
const CLOSE_WAIT_MS = 10_000;

/** The gateway's answers on one tunnel, awaited one at a time. */
class EventInbox {
  private readonly queue: JobEvent[] = [];
  private waiter: { resolve: (e: JobEvent) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private readyWaiters: Array<() => void> = [];
  private readonly decoder = new JobEventDecoder();

  constructor(stream: TunnelStream) {
    stream.on('data', (chunk: Buffer) => {
      try {
        for (const event of this.decoder.push(chunk)) this.put(event);
      } catch (err) {
        this.fail(err as Error);
        stream.reset('PROTOCOL', (err as Error).message);
      }
    });
    stream.on('error', (err) => this.fail(err));
    stream.on('end', () =>
      this.fail(new TunnelError('MFP_TUN_ERR_STREAM_RESET', 'the gateway ended the tunnel')),
    );
  }

  /** The next event; rejects when the tunnel fails or ends first. */
  next(): Promise<JobEvent> {
    const event = this.queue.shift();
    if (event) return Promise.resolve(event);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** An event that arrived without being awaited (a failure while we pump). */
  peek(): JobEvent | undefined {
    return this.queue[0];
  }

  /** Resolves once an event is waiting or the tunnel failed (for a transfer that sends nothing meanwhile). */
  whenReady(): Promise<void> {
    if (this.queue.length > 0 || this.failure) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  private put(event: JobEvent): void {
    const w = this.waiter;
    this.waiter = undefined;
    if (w) w.resolve(event);
    else this.queue.push(event);
    this.ready();
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
    this.ready();
  }

  private ready(): void {
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w();
  }
}

/**
 * Carries one job's document through tunnels of its gateway (docs/jobs.md): opens the
 * tunnel, starts where the gateway says it holds the job, pumps with backpressure, and
 * resumes on another line when one breaks. On request it switches the job to the device's
 * own connection, make-before-break (seed 001): the connection-establishment command goes
 * first and the data keeps flowing; only once the device's connection is up does the
 * interrupt stop the tunnel's part.
 */
export class JobTransfer {
  readonly job: Job;
  /** Where the job's data travels now, for the tunnel scheduler. */
  route: 'tunnel' | 'switching' | 'direct' = 'tunnel';
  readonly startedAt: number;
  /** Document bytes the gateway holds (the last offset it told us). */
  offset = 0;
  private switchTo: SwitchRequest | undefined;
  /** The device's own connection is up: stop the tunnel's part at the next record boundary. */
  private interruptWanted = false;
  private wake: (() => void) | undefined;
  private readonly deps: TransferDeps;
  private readonly log: Logger;
  private cancelled: string | undefined;
  private current: TunnelStream | undefined;

  constructor(job: Job, deps: TransferDeps) {
    this.job = job;
    this.deps = deps;
    this.startedAt = deps.clock.now();
    this.log = deps.logger.child({ jobId: job.id, gateway: job.gatewayId, device: job.deviceId });
  }

  /** Asks the device to connect by itself (7G, sent at once); the tunnel goes on carrying data meanwhile. */
  requestSwitch(request: SwitchRequest): void {
    if (this.route !== 'tunnel') return;
    this.route = 'switching';
    this.switchTo = request;
    this.wake?.();
  }

  /** The device's own connection is up (#64): interrupt the tunnel's part (7L). False when not switching. */
  interrupt(): boolean {
    if (this.route !== 'switching') return false;
    this.interruptWanted = true;
    this.wake?.();
    return true;
  }

  /** Gives up a switch whose device did not connect in time: the job goes on through its tunnel. */
  abandonSwitch(): boolean {
    if (this.route !== 'switching' || this.interruptWanted) return false;
    this.route = 'tunnel';
    this.switchTo = undefined;
    this.wake?.();
    return true;
  }

  /** Stops the transfer; run() resolves failed with the reason. */
  cancel(reason: string): void {
    this.cancelled = reason;
    this.current?.destroy();
    this.wake?.();
  }

  /** Runs until the job is done, switched or failed; never rejects. */
  async run(): Promise<TransferOutcome> {
    const { clock } = this.deps;
    let giveUpAt = clock.now() + this.deps.resumeWithinMs;
    for (;;) {
      if (this.cancelled) return { kind: 'failed', reason: this.cancelled };
      const line = this.deps.pickLine();
      if (!line?.tunnels) {
        if (this.deps.elsewhere?.()) return { kind: 'handed-off' };
        const left = giveUpAt - clock.now();
        if (left <= 0) {
          return { kind: 'failed', reason: `no push line of gateway ${this.job.gatewayId} came up in time` };
        }
        await this.deps.waitForLine(left);
        continue;
      }
      const before = this.offset;
      try {
        return await this.attempt(line);
      } catch (err) {
        if (this.cancelled) return { kind: 'failed', reason: this.cancelled };
        const final = finalFailure(err);
        if (final) return { kind: 'failed', reason: final };
        if (this.offset > before) giveUpAt = clock.now() + this.deps.resumeWithinMs;
        if (clock.now() >= giveUpAt) {
          return { kind: 'failed', reason: `the tunnel kept breaking: ${(err as Error).message}` };
        }
        this.log.info({ err: (err as Error).message, offset: this.offset }, 'job tunnel broke; resuming');
        await new Promise<void>((resolve) => clock.setTimeout(resolve, RETRY_DELAY_MS));
      }
    }
  }

  private async attempt(line: CloudLine): Promise<TransferOutcome> {
    const { job } = this;
    const mux = line.tunnels;
    if (!mux) throw new TunnelError('MFP_TUN_ERR_TRANSPORT_CLOSED', 'the line has no tunnels');
    const fields: JobTarget = {
      jobType: job.type,
      size: job.size,
      ...(job.name ? { name: job.name } : {}),
      ...(job.format ? { format: job.format } : {}),
    };
    const stream = await mux.openStream({
      jobId: job.id,
      deviceId: job.deviceId,
      resumeOffset: this.offset,
      ...fields,
    });
    this.current = stream;
    stream.on('error', () => {}); // failures reach us through the inbox
    try {
      const inbox = new EventInbox(stream);
      const first = await inbox.next();
      if (first.event !== 'ready') return this.settled(stream, first);
      if (first.offset > job.size) {
        stream.reset('PROTOCOL', 'offset beyond the document');
        return { kind: 'failed', reason: `the gateway claims ${first.offset} of ${job.size} bytes` };
      }
      this.offset = first.offset;
      this.deps.onLeg(line.connectionId, this.offset);
      return await this.pump(line, stream, inbox);
    } finally {
      this.current = undefined;
    }
  }

  /**
   * Sends the document from this.offset — with the connection-establishment command in between
   * once a switch is asked for — until it is all sent (then END) or the device's own connection
   * is up (then INTERRUPT); returns the gateway's last word.
   */
  private async pump(line: CloudLine, stream: TunnelStream, inbox: EventInbox): Promise<TransferOutcome> {
    const source = this.deps.read(this.offset);
    const chunks = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    let sent = this.offset;
    // Sent once per tunnel: on a resumed tunnel the gateway may not have had it.
    let connectSent = false;
    try {
      for (;;) {
        if (this.cancelled) throw new Error(this.cancelled);
        if (inbox.peek()) {
          const event = await inbox.next();
          if (event.event === 'switch-refused') {
            this.refused(event.reason);
            continue;
          }
          return this.settled(stream, event);
        }
        if (this.switchTo && !connectSent) {
          connectSent = true;
          void this.sendConnect(line, stream, this.switchTo, sent);
        }
        if (this.interruptWanted) break;
        if (this.switchTo?.directStart) {
          await this.sleep(inbox);
          continue;
        }
        const next = await chunks.next();
        if (next.done) break;
        if (stream.destroyed) await this.drained(stream); // throws why
        stream.write(dataHeader(next.value.length));
        const more = stream.write(next.value);
        sent += next.value.length;
        if (!more) await this.drained(stream);
      }
    } finally {
      source.destroy();
    }
    if (this.interruptWanted) {
      stream.write(encodeInterrupt({ offset: sent }));
      this.log.info({ offset: sent }, 'interrupted the job’s tunnel part: the device’s own connection is up');
    } else {
      stream.write(encodeEnd({ size: this.job.size, sha256: this.job.sha256 }));
    }
    for (;;) {
      const answer = await inbox.next();
      if (answer.event === 'switch-refused') this.refused(answer.reason);
      else return this.settled(stream, answer);
    }
  }

  /**
   * Seed 001's connection-establishment command (7G), on a command stream of its own so that it
   * overtakes the document bytes in flight on the job stream; in the job stream itself when no
   * command stream can be opened (the job stream then carries it after those bytes).
   */
  private async sendConnect(
    line: CloudLine,
    jobStream: TunnelStream,
    request: SwitchRequest,
    offset: number,
  ) {
    const { directStart: _, ...command } = request;
    this.log.info(
      { offset, via: command.via, mode: command.mode },
      'asked the device to connect to the cloud by itself; the tunnel goes on meanwhile',
    );
    let stream: TunnelStream;
    try {
      const mux = line.tunnels;
      if (!mux) throw new TunnelError('MFP_TUN_ERR_TRANSPORT_CLOSED', 'the line has no tunnels');
      const command: JobTarget = { command: 'connect' };
      stream = await mux.openStream({ jobId: this.job.id, deviceId: this.job.deviceId, ...command });
    } catch (err) {
      if (
        err instanceof TunnelError &&
        err.code === 'MFP_TUN_ERR_OPEN_REFUSED' &&
        err.remoteCode !== 'LIMIT'
      ) {
        this.refused(`the gateway refused the command: ${err.message}`);
      } else if (!jobStream.destroyed) {
        jobStream.write(encodeConnect(command));
      }
      return;
    }
    stream.on('error', () => {});
    const decoder = new JobEventDecoder();
    stream.on('data', (chunk: Buffer) => {
      try {
        for (const event of decoder.push(chunk))
          if (event.event === 'switch-refused') this.refused(event.reason);
      } catch (err) {
        stream.reset('PROTOCOL', (err as Error).message);
      }
    });
    stream.end(encodeConnect(command));
  }

  /** The driver or device cannot connect directly: the job stays on its tunnel. */
  private refused(reason: string): void {
    if (this.route !== 'switching' || this.interruptWanted) return;
    this.log.warn({ reason }, 'the device cannot switch; staying on the tunnel');
    this.route = 'tunnel';
    this.switchTo = undefined;
    this.wake?.();
    this.deps.onSwitchRefused(reason);
  }

  /** Waits (sending nothing) until woken, or an event arrives from the gateway. */
  private sleep(inbox: EventInbox): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
      void inbox.whenReady().then(done);
    });
  }

  /** Waits for the tunnel's window, or for a switch request or interrupt, whichever first. */
  private async drained(stream: TunnelStream): Promise<void> {
    // A destroyed stream emits neither 'drain' nor (again) 'error'.
    if (stream.destroyed)
      throw stream.errored ?? new TunnelError('MFP_TUN_ERR_STREAM_RESET', 'the tunnel closed');
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        stream.off('drain', done);
        stream.off('error', fail);
        this.wake = undefined;
        resolve();
      };
      const fail = (err: Error) => {
        stream.off('drain', done);
        this.wake = undefined;
        reject(err);
      };
      stream.once('drain', done);
      stream.once('error', fail);
      this.wake = done;
    });
  }

  /** Turns the gateway's last word into an outcome, once the tunnel has closed. */
  private async settled(stream: TunnelStream, event: JobEvent): Promise<TransferOutcome> {
    stream.end();
    const closed = once(stream, 'close').catch(() => {});
    const timeout = new Promise<void>((resolve) => this.deps.clock.setTimeout(resolve, CLOSE_WAIT_MS));
    await Promise.race([closed, timeout]);
    switch (event.event) {
      case 'done':
        this.offset = this.job.size;
        return { kind: 'done', pages: event.pages };
      case 'switched':
        this.offset = event.offset;
        this.route = 'direct';
        return { kind: 'switched', offset: event.offset };
      case 'failed':
        return { kind: 'failed', reason: `${event.code}: ${event.reason}` };
      default:
        return { kind: 'failed', reason: `unexpected "${event.event}" from the gateway` };
    }
  }
}

/** A reason when the failure is the job's (retrying cannot help), undefined for a broken line. */
function finalFailure(err: unknown): string | undefined {
  if (err instanceof JobStreamError) return err.message;
  if (!(err instanceof TunnelError)) return undefined;
  if (err.code === 'MFP_TUN_ERR_OPEN_REFUSED' && err.remoteCode !== 'LIMIT') {
    return `the gateway refused the tunnel (${err.remoteCode}): ${err.message}`;
  }
  if (err.code === 'MFP_TUN_ERR_BAD_TARGET') return err.message;
  return undefined;
}
