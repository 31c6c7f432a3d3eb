import type { Clock } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import type { DeviceDriver, DeviceState, DeviceStatus, PrintJob, PrintResult } from '../device-driver.ts';
import { DeviceError } from '../device-error.ts';
import { StatusTracker } from '../status-tracker.ts';
import { documentSteps } from './document-steps.ts';
import type { PjlChannel, PjlLink } from './pjl-channel.ts';
import {
  connectCommand,
  infoQuery,
  interruptCommand,
  jobHeader,
  jobTrailer,
  pjlJobName,
  pjlLanguage,
  UEL,
} from './pjl-commands.ts';
import { PjlConversation } from './pjl-conversation.ts';
import type { PjlMessage } from './pjl-reader.ts';
import { interpretStatusCode } from './pjl-status-codes.ts';

export interface PjlDriverOptions {
  id: string;
  /** How the device is reached: TcpLink (raw 9100) or SerialLink. */
  link: PjlLink;
  clock: Clock;
  logger?: Logger;
  /** Time allowed for an INFO reply (default 10 s). */
  replyTimeoutMs?: number;
  /**
   * Time allowed without a word from the device while waiting for the end of a job
   * (default 10 min). It does not run while the device reports itself stopped (paper out,
   * jam, offline): the job waits for the operator, as it would at the printer.
   */
  jobIdleTimeoutMs?: number;
  /** PJL language for formats with no known mapping (default PCL). */
  defaultLanguage?: string;
}

interface Observed {
  state: DeviceState;
  reasons: string[];
  message?: string;
}

/**
 * PJL over a byte pipe (HP PJL Technical Reference). A job is UEL + JOB + ENTER LANGUAGE,
 * the document streamed with backpressure, then UEL + EOJ + UEL; it is done only when the
 * printer sends `USTATUS JOB / END` for our job name. Operations run one at a time: a
 * printer's PJL channel serves one conversation.
 *
 * A document that itself contains the UEL sequence ends the job early at the printer: this
 * is how PJL works, and why PDLs never contain it.
 */
export class PjlDriver implements DeviceDriver {
  readonly id: string;
  /** Direct-capable devices connect with `@PJL MFPGW CONNECT` and take a job over on `MFPGW INTERRUPT` (docs/jobs.md). */
  readonly canHandOver = true;
  private readonly options: Required<Omit<PjlDriverOptions, 'logger'>> & { logger?: Logger };
  private readonly tracker: StatusTracker;
  private queue: Promise<unknown> = Promise.resolve();
  /** Status seen on the running job's channel; status() answers from it instead of queueing behind the job. */
  private live: Observed | undefined;
  private lastPageCount: number | undefined;
  private closed = false;

  constructor(options: PjlDriverOptions) {
    this.id = options.id;
    this.options = { replyTimeoutMs: 10_000, jobIdleTimeoutMs: 600_000, defaultLanguage: 'PCL', ...options };
    this.tracker = new StatusTracker(options.clock);
  }

  print(job: PrintJob, signal?: AbortSignal): Promise<PrintResult> {
    return this.exclusive(() => this.runJob(job, signal));
  }

  status(): Promise<DeviceStatus> {
    if (this.closed) return Promise.reject(this.closedError());
    if (this.live) return Promise.resolve(this.observe(this.live));
    return this.exclusive(() => this.query()).catch((err: unknown) => this.tracker.observeFailure(err));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.options.link.close();
  }

  private async runJob(job: PrintJob, signal?: AbortSignal): Promise<PrintResult> {
    const { clock } = this.options;
    const name = pjlJobName(job.jobId);
    const channel = await this.options.link.open(signal);
    let bytesSent = 0;
    // Bytes handed to the line, written or not yet: once any may have left, a lost line means
    // the job may have started printing, so it is INTERRUPTED (not to be resent), never UNREACHABLE.
    let bytesOffered = 0;
    let stopped = false;
    let aborted = false;
    let idle: ((ms: number | undefined) => void) | undefined;
    const { direct } = job;
    // After the interrupt, REFUSED answers it; before, it answers the connection-establishment command.
    let interrupting = false;
    this.live = { state: 'printing', reasons: [] };
    const conversation = new PjlConversation(channel, {
      deviceId: this.id,
      clock,
      onMessage: (m) => {
        const status = deviceStatusOf(m);
        if (status) {
          this.live = status.state === 'idle' ? { ...status, state: 'printing' } : status;
          stopped = status.state === 'stopped';
        }
        if (direct && isJobReport(m, name, 'CONNECTED')) direct.report('connected');
        if (direct && !interrupting && isJobReport(m, name, 'REFUSED')) direct.report('refused');
        idle?.(stopped ? undefined : this.options.jobIdleTimeoutMs);
      },
      onLost: (err) => this.lostError(err, bytesOffered),
    });
    const onAbort = () =>
      conversation.fail(
        new DeviceError('MFP_DEV_ERR_ABORTED', this.id, `job ${job.jobId} aborted after ${bytesSent} bytes`),
      );
    signal?.addEventListener('abort', onAbort, { once: true });
    const chunks = job.document[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
    try {
      if (signal?.aborted) onAbort();
      const end = conversation.waitFor((m) => isJobReport(m, name, 'END'), undefined, `end of job ${name}`);
      idle = end.rearm;
      end.reply.catch(() => {});
      const language = pjlLanguage(job.format, this.options.defaultLanguage);
      await this.send(channel, conversation, jobHeader(name, language));
      // The document, with seed 001's connection-establishment commands put in between chunks as they come.
      for await (const step of documentSteps(chunks, direct && (() => direct.nextConnect()))) {
        if ('connect' in step) {
          await this.send(channel, conversation, connectCommand(name, step.connect, language));
          continue;
        }
        bytesOffered += step.chunk.length;
        await this.send(channel, conversation, step.chunk);
        bytesSent += step.chunk.length;
      }
      if (direct?.interrupted()) {
        interrupting = true;
        return await this.interrupt(channel, conversation, name, bytesSent);
      }
      await this.send(channel, conversation, jobTrailer(name));
      idle(stopped ? undefined : this.options.jobIdleTimeoutMs);
      const done = await end.reply;
      const pages = Number(done.fields.PAGES);
      this.options.logger?.debug({ device: this.id, job: job.jobId, bytesSent }, 'pjl job ended');
      return {
        deviceJobId: name,
        bytesSent,
        completedAt: clock.now(),
        ...(Number.isFinite(pages) ? { pages } : {}),
      };
    } catch (err) {
      aborted = conversation.failed?.code === 'MFP_DEV_ERR_ABORTED';
      // Leave the printer out of the half-sent PDL so the next job on this line starts clean.
      if (aborted) channel.write(UEL).catch(() => {});
      throw conversation.failed ?? err;
    } finally {
      chunks.return?.().catch(() => {});
      signal?.removeEventListener('abort', onAbort);
      this.live = undefined;
      conversation.end();
      await channel.release({ abort: aborted });
    }
  }

  /**
   * Seed 001's interrupt (7L): ends the data part without ending the job, and waits for the device
   * to say it holds OFFSET bytes and takes the rest over its own connection (USTATUS JOB INTERRUPTED).
   */
  private async interrupt(
    channel: PjlChannel,
    conversation: PjlConversation,
    name: string,
    bytesSent: number,
  ): Promise<PrintResult> {
    const answer = conversation.waitFor(
      (m) => isJobReport(m, name, 'INTERRUPTED') || isJobReport(m, name, 'REFUSED'),
      this.options.replyTimeoutMs,
      `the device to take job ${name} over`,
    );
    answer.reply.catch(() => {});
    await this.send(channel, conversation, interruptCommand(name));
    const reply = await answer.reply;
    const offset = Number(reply.fields.OFFSET);
    if (!reply.words.includes('INTERRUPTED') || !Number.isSafeInteger(offset)) {
      throw new DeviceError(
        'MFP_DEV_ERR_REJECTED',
        this.id,
        `the device refused to continue job ${name} on its own connection`,
      );
    }
    this.options.logger?.info({ device: this.id, job: name, offset }, 'job handed over to the device');
    return { deviceJobId: name, bytesSent, completedAt: this.options.clock.now(), handedOver: { offset } };
  }

  /** Writes unless the conversation already failed; a write error becomes the conversation's failure. */
  private async send(channel: PjlChannel, conversation: PjlConversation, bytes: Buffer): Promise<void> {
    if (conversation.failed) throw conversation.failed;
    await Promise.race([channel.write(bytes), conversation.whenFailed]);
  }

  private async query(): Promise<DeviceStatus> {
    const { clock, replyTimeoutMs } = this.options;
    const channel = await this.options.link.open();
    const conversation = new PjlConversation(channel, {
      deviceId: this.id,
      clock,
      onMessage: () => {},
      onLost: (err) => this.lostError(err, 0),
    });
    try {
      const ask = async (category: string): Promise<PjlMessage> => {
        const wait = conversation.waitFor(
          (m) => m.header[0] === 'INFO' && m.header[1] === category,
          replyTimeoutMs,
          `reply to INFO ${category}`,
        );
        wait.reply.catch(() => {});
        await this.send(channel, conversation, infoQuery(category));
        return wait.reply;
      };
      const status = deviceStatusOf(await ask('STATUS'));
      if (!status) {
        throw new DeviceError(
          'MFP_DEV_ERR_MALFORMED_REPLY',
          this.id,
          'INFO STATUS reply has no numeric CODE',
        );
      }
      const pageCount = parsePageCount(await ask('PAGECOUNT'));
      if (pageCount === undefined) {
        throw new DeviceError('MFP_DEV_ERR_MALFORMED_REPLY', this.id, 'INFO PAGECOUNT reply has no number');
      }
      this.lastPageCount = pageCount;
      return this.observe(status);
    } finally {
      conversation.end();
      await channel.release();
    }
  }

  private observe(o: Observed): DeviceStatus {
    return this.tracker.observe({
      state: o.state,
      reasons: o.reasons,
      ...(o.message ? { message: o.message } : {}),
      ...(this.lastPageCount !== undefined ? { pageCount: this.lastPageCount } : {}),
    });
  }

  private lostError(err: Error, bytesOffered: number): DeviceError {
    return bytesOffered > 0
      ? new DeviceError(
          'MFP_DEV_ERR_INTERRUPTED',
          this.id,
          `line to ${this.options.link.description} lost after up to ${bytesOffered} document bytes (${err.message}); ` +
            'the job was not resent, so it cannot print twice — check the device and resubmit if nothing printed',
          { cause: err },
        )
      : new DeviceError(
          'MFP_DEV_ERR_UNREACHABLE',
          this.id,
          `line to ${this.options.link.description} lost (${err.message})`,
          { cause: err },
        );
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError());
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  private closedError(): DeviceError {
    return new DeviceError('MFP_DEV_ERR_CLOSED', this.id, 'driver closed');
  }
}

/** A `USTATUS JOB` report of this job with this word (START, END, CONNECTED, INTERRUPTED, REFUSED). */
function isJobReport(m: PjlMessage, name: string, word: string): boolean {
  return (
    m.header[0] === 'USTATUS' && m.header[1] === 'JOB' && m.words.includes(word) && m.fields.NAME === name
  );
}

/** INFO STATUS and USTATUS DEVICE carry CODE / DISPLAY / ONLINE. */
function deviceStatusOf(m: PjlMessage): Observed | undefined {
  const isStatus =
    (m.header[0] === 'INFO' && m.header[1] === 'STATUS') ||
    (m.header[0] === 'USTATUS' && m.header[1] === 'DEVICE');
  if (!isStatus) return undefined;
  const code = Number(m.fields.CODE);
  if (!Number.isInteger(code)) return undefined;
  const online = (m.fields.ONLINE ?? 'TRUE').toUpperCase() !== 'FALSE';
  const { state, reasons } = interpretStatusCode(code, online);
  return { state, reasons, ...(m.fields.DISPLAY ? { message: m.fields.DISPLAY } : {}) };
}

/** Printers answer `PAGECOUNT=n` or a bare `n` line. */
function parsePageCount(m: PjlMessage): number | undefined {
  const raw = m.fields.PAGECOUNT ?? m.words[0];
  const n = Number(raw);
  return raw !== undefined && /^\d+$/.test(raw) && Number.isSafeInteger(n) ? n : undefined;
}
