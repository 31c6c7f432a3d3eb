import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import { clockDelay } from '../clock-delay.ts';
import type { DeviceDriver, DeviceStatus, PrintJob, PrintResult } from '../device-driver.ts';
import { DeviceError } from '../device-error.ts';
import { StatusTracker } from '../status-tracker.ts';
import { controlFile, queueFileNames } from './lpd-control-file.ts';

export interface LpdDriverOptions {
  id: string;
  host: string;
  /** Default 515. */
  port?: number;
  queue: string;
  clock: Clock;
  logger?: Logger;
  /** Host name sent in the control file and file names (default: this machine's). */
  localHost?: string;
  /** Time allowed for each acknowledgement or reply (default 30 s). */
  replyTimeoutMs?: number;
  /** How often the queue is asked whether the job has left it (default 2 s). */
  pollIntervalMs?: number;
  /** Where documents of unknown length are spooled to learn their size (default: the OS temp dir). */
  spoolDir?: string;
}

/**
 * An LPD client (RFC 1179): "receive a printer job" with the data file first and the control
 * file last, so the server queues the job only when its document is complete. LPD needs each
 * file's length up front: a job that gives `size` is streamed straight through, any other is
 * spooled to a temp file first. LPD has no completion report, so the job counts as done when
 * the server's long queue state no longer names it, or names it as "done" (LPRng keeps
 * finished jobs listed for a while); an "error" entry fails the job.
 */
export class LpdDriver implements DeviceDriver {
  readonly id: string;
  private readonly options: LpdDriverOptions;
  private readonly tracker: StatusTracker;
  private jobNumber = Math.floor(Math.random() * 1000);
  private closed = false;
  private readonly sockets = new Set<Socket>();

  constructor(options: LpdDriverOptions) {
    this.id = options.id;
    this.options = options;
    this.tracker = new StatusTracker(options.clock);
  }

  async print(job: PrintJob, signal?: AbortSignal): Promise<PrintResult> {
    this.assertOpen();
    const local = this.options.localHost ?? hostname();
    const number = this.jobNumber++ % 1000;
    const names = queueFileNames(number, local);
    const { document, size, cleanup } = await this.sized(job);
    try {
      const conn = await this.connect(signal);
      try {
        await conn.command(Buffer.from(`\x02${this.options.queue}\n`, 'latin1'), 'receive job');
        await conn.command(Buffer.from(`\x03${size} ${names.data}\n`, 'latin1'), 'data file header');
        const sent = await conn.stream(document, size);
        await conn.command(Buffer.from([0]), 'data file');
        const control = controlFile({
          host: local,
          user: job.user ?? 'mfp-gateway',
          jobName: job.jobId,
          dataFileName: names.data,
          sourceName: job.name ?? job.jobId,
        });
        await conn.command(
          Buffer.from(`\x02${control.length} ${names.control}\n`, 'latin1'),
          'control file header',
        );
        await conn.write(control);
        await conn.command(Buffer.from([0]), 'control file');
        conn.end();
        await this.waitUntilGone(job.jobId, signal);
        return { deviceJobId: String(number), bytesSent: sent, completedAt: this.options.clock.now() };
      } finally {
        conn.destroy();
      }
    } finally {
      await cleanup();
    }
  }

  async status(): Promise<DeviceStatus> {
    let text: string;
    try {
      text = await this.queueState();
    } catch (err) {
      return this.tracker.observeFailure(err);
    }
    const queued = this.jobsIn(text);
    const disabled = /printing disabled|spooling disabled|queue is disabled/i.test(text);
    return this.tracker.observe({
      state: disabled ? 'stopped' : queued > 0 ? 'printing' : 'idle',
      reasons: disabled ? ['paused'] : [],
      message: text.trim().split('\n')[0] ?? '',
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.sockets) s.destroy();
  }

  private async waitUntilGone(jobName: string, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const text = await this.queueState(signal);
      const line = text.split('\n').find((l) => l.split(/\s+/).includes(jobName));
      // Gone from the queue, or kept there as printed (LPRng lists finished jobs as "done").
      if (!line || /^\s*done\s/i.test(line)) return;
      if (/^\s*(error|abort)/i.test(line)) {
        throw new DeviceError(
          'MFP_DEV_ERR_ABORTED',
          this.id,
          `LPD server failed job ${jobName}: ${line.trim()}`,
        );
      }
      try {
        await clockDelay(this.options.clock, this.options.pollIntervalMs ?? 2000, signal);
      } catch {
        throw new DeviceError(
          'MFP_DEV_ERR_ABORTED',
          this.id,
          `gave up waiting for job ${jobName} in the LPD queue`,
        );
      }
    }
  }

  /** "Send queue state (long)" (RFC 1179 §5.4); the reply is free text until the server closes. */
  private async queueState(signal?: AbortSignal): Promise<string> {
    const conn = await this.connect(signal);
    try {
      await conn.write(Buffer.from(`\x04${this.options.queue}\n`, 'latin1'));
      const text = (await conn.readToEnd()).toString('latin1');
      if (/[^\t\n\r\x20-\x7e]/.test(text)) {
        throw new DeviceError('MFP_DEV_ERR_MALFORMED_REPLY', this.id, 'LPD queue state is not text');
      }
      return text;
    } finally {
      conn.destroy();
    }
  }

  private jobsIn(text: string): number {
    return text.split('\n').filter((l) => /^\s*(active|hold|\d+(st|nd|rd|th)?)\s/i.test(l)).length;
  }

  /** The document and its length: as given, or spooled to a temp file to learn it. */
  private async sized(
    job: PrintJob,
  ): Promise<{ document: Readable; size: number; cleanup: () => Promise<void> }> {
    if (job.size !== undefined) return { document: job.document, size: job.size, cleanup: async () => {} };
    const dir = await mkdtemp(join(this.options.spoolDir ?? tmpdir(), 'mfpgw-lpd-'));
    const file = join(dir, 'document');
    try {
      await pipeline(job.document, createWriteStream(file));
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw new DeviceError('MFP_DEV_ERR_ABORTED', this.id, `reading the document failed: ${String(err)}`, {
        cause: err,
      });
    }
    const { size } = await stat(file);
    return {
      document: createReadStream(file),
      size,
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  }

  private connect(signal?: AbortSignal): Promise<LpdConnection> {
    this.assertOpen();
    const { host, clock } = this.options;
    const port = this.options.port ?? 515;
    return new Promise((resolve, reject) => {
      // No Nagle: a job ends with write-write-read twice (document then NUL, control file then
      // NUL), and each NUL would wait for lpd's delayed ACK (~40 ms; lpd-driver.test.ts).
      const socket = connect({ host, port, signal, noDelay: true });
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      socket.once('error', (err) =>
        reject(
          new DeviceError(
            signal?.aborted ? 'MFP_DEV_ERR_ABORTED' : 'MFP_DEV_ERR_UNREACHABLE',
            this.id,
            `cannot connect to LPD ${host}:${port} (${err.message}); check the host, port and that lpd runs`,
            { cause: err },
          ),
        ),
      );
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        resolve(new LpdConnection(socket, this.id, clock, this.options.replyTimeoutMs ?? 30_000));
      });
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new DeviceError('MFP_DEV_ERR_CLOSED', this.id, 'driver closed');
  }
}

/** One LPD TCP connection: writes with backpressure and reads the one-byte acknowledgements. */
class LpdConnection {
  private readonly socket: Socket;
  private readonly deviceId: string;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private received: Buffer[] = [];
  private waiter: (() => void) | undefined;
  private failure: DeviceError | undefined;
  private ended = false;

  constructor(socket: Socket, deviceId: string, clock: Clock, timeoutMs: number) {
    this.socket = socket;
    this.deviceId = deviceId;
    this.clock = clock;
    this.timeoutMs = timeoutMs;
    socket.on('data', (b: Buffer) => {
      this.received.push(b);
      this.waiter?.();
    });
    socket.on('end', () => {
      this.ended = true;
      this.waiter?.();
    });
    socket.on('error', (err) => {
      this.failure ??= new DeviceError(
        'MFP_DEV_ERR_UNREACHABLE',
        deviceId,
        `LPD connection failed: ${err.message}`,
        {
          cause: err,
        },
      );
      this.waiter?.();
    });
  }

  write(bytes: Buffer): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, (err) => (err ? reject(this.failure ?? err) : resolve()));
    });
  }

  /** Sends bytes and expects the server's single zero byte; anything else is a refusal. */
  async command(bytes: Buffer, what: string): Promise<void> {
    await this.write(bytes);
    const ack = await this.read(1, what);
    if (ack[0] !== 0) {
      const rest = Buffer.concat(this.received).toString('latin1').trim();
      throw new DeviceError(
        'MFP_DEV_ERR_REJECTED',
        this.deviceId,
        `LPD server refused the ${what} (code ${ack[0]}${rest ? `: ${rest.slice(0, 200)}` : ''}); check the queue name and lpd.perms`,
      );
    }
  }

  /** Streams exactly `size` bytes of the document, waiting for 'drain' when the socket pushes back. */
  async stream(document: Readable, size: number): Promise<number> {
    let sent = 0;
    for await (const chunk of document) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      sent += buf.length;
      if (sent > size) break;
      if (this.failure) throw this.failure;
      if (!this.socket.write(buf)) await new Promise((r) => this.socket.once('drain', r));
    }
    if (sent !== size) {
      throw new DeviceError(
        'MFP_DEV_ERR_ABORTED',
        this.deviceId,
        `document was ${sent > size ? 'longer' : 'shorter'} than the announced ${size} bytes; job not queued`,
      );
    }
    return sent;
  }

  async readToEnd(): Promise<Buffer> {
    while (!this.ended) await this.next('queue state');
    return Buffer.concat(this.received);
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private async read(n: number, what: string): Promise<Buffer> {
    for (;;) {
      const all = Buffer.concat(this.received);
      if (all.length >= n) {
        this.received = [all.subarray(n)];
        return all.subarray(0, n);
      }
      if (this.ended) {
        throw new DeviceError(
          'MFP_DEV_ERR_MALFORMED_REPLY',
          this.deviceId,
          `LPD server closed instead of acknowledging the ${what}`,
        );
      }
      await this.next(what);
    }
  }

  private next(what: string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      let timer: TimerHandle | undefined;
      this.waiter = () => {
        this.clock.clearTimeout(timer);
        this.waiter = undefined;
        if (this.failure) reject(this.failure);
        else resolve();
      };
      timer = this.clock.setTimeout(() => {
        this.waiter = undefined;
        reject(
          new DeviceError(
            'MFP_DEV_ERR_TIMEOUT',
            this.deviceId,
            `no LPD answer to the ${what} within ${this.timeoutMs} ms`,
          ),
        );
      }, this.timeoutMs);
    });
  }
}
