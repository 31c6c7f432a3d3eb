import { PassThrough } from 'node:stream';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { DirectConnect, PrintResult } from '../../devices/device-driver.ts';
import { DeviceError } from '../../devices/device-error.ts';
import type { JobEvent } from '../../protocol/job/job-records.ts';
import type { GatewayDevice } from '../devices/device-registry.ts';

/** Document bytes buffered between the tunnel and the driver; the tunnel's window does the rest. */
const DOCUMENT_BUFFER_BYTES = 256 * 1024;

/** Where the device stands in seed 001's switch: told to connect, or its own connection is up. */
export type DirectState = 'none' | 'asked' | 'connected';

/**
 * One job on one device, as the gateway runs it. It outlives the tunnel that carries it:
 * when a push line dies mid-job, the device keeps its half of the job for `graceMs` and a
 * tunnel on another line continues at `received`, so no byte reaches the device twice.
 *
 * Seed 001's switch is make-before-break: `connect` passes the connection-establishment command
 * (7G) to the device while the document keeps flowing; `interrupt` (7L) ends the tunnel's part
 * once the cloud has the device's own connection.
 */
export class DeviceJob {
  readonly jobId: string;
  readonly device: GatewayDevice;
  /** The whole document's size, when the cloud said it in the OPEN (for progress). */
  readonly size: number | undefined;
  /** When the gateway took the job's first tunnel. */
  readonly startedAt: number;
  /** Document bytes taken from tunnels so far (the offset a resume continues at). */
  received = 0;
  /** Tunnels that have carried the job so far (more than one: it was resumed). */
  tunnels = 0;
  /** The job's last word (done, switched, failed) once the device settled it. */
  final: JobEvent | undefined;
  /** When the device settled the job. */
  settledAt: number | undefined;
  private readonly document = new PassThrough({ highWaterMark: DOCUMENT_BUFFER_BYTES });
  private readonly abort = new AbortController();
  /** Where the device stands in the switch. */
  direct: DirectState = 'none';
  /** When the device said its own connection to the cloud was up (for the journal). */
  directUpAt: number | undefined;
  private pendingConnect: DirectConnect | undefined;
  private connectWaiter: ((connect: DirectConnect) => void) | undefined;
  private interrupted = false;
  private readonly directListeners = new Set<(state: 'connected' | 'refused') => void>();
  private ended = false;
  private grace: TimerHandle | undefined;
  private readonly clock: Clock;
  private readonly graceMs: number;
  private readonly listeners = new Set<(event: JobEvent) => void>();

  constructor(options: {
    jobId: string;
    device: GatewayDevice;
    name: string | undefined;
    format: string | undefined;
    size?: number | undefined;
    clock: Clock;
    graceMs: number;
  }) {
    this.jobId = options.jobId;
    this.device = options.device;
    this.size = options.size;
    this.clock = options.clock;
    this.startedAt = options.clock.now();
    this.graceMs = options.graceMs;
    const { driver } = options.device;
    driver
      .print(
        {
          jobId: options.jobId,
          document: this.document,
          ...(options.name ? { name: options.name } : {}),
          ...(options.format ? { format: options.format } : {}),
          direct: {
            nextConnect: () =>
              new Promise<DirectConnect>((resolve) => {
                const waiting = this.pendingConnect;
                this.pendingConnect = undefined;
                if (waiting) resolve(waiting);
                else this.connectWaiter = resolve;
              }),
            interrupted: () => this.interrupted,
            report: (state) => this.directReported(state),
          },
        },
        this.abort.signal,
      )
      .then(
        (result) => this.settle(eventOf(result)),
        (err: unknown) => this.settle(failureOf(err)),
      );
  }

  /** The driver can hand this job to the device's own connection. */
  get canHandOver(): boolean {
    return this.device.driver.canHandOver === true;
  }

  /** True while more document bytes are welcome. */
  get open(): boolean {
    return !this.ended && this.final === undefined;
  }

  /** Calls fn with the job's final event (at once if it is already known). */
  onFinal(fn: (event: JobEvent) => void): () => void {
    if (this.final) {
      fn(this.final);
      return () => {};
    }
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Feeds document bytes; false when the driver is behind (wait for drain()). */
  write(chunk: Buffer): boolean {
    this.received += chunk.length;
    return this.document.write(chunk);
  }

  /** Resolves when the driver has taken the buffered bytes. */
  drain(): Promise<void> {
    if (!this.document.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.document.off('drain', done);
        this.document.off('close', done);
        resolve();
      };
      this.document.once('drain', done);
      this.document.once('close', done);
    });
  }

  /** The whole document arrived. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.document.end();
  }

  /**
   * Passes a connection-establishment command (7G) to the device; false when it is already
   * connecting or connected, or the job no longer takes data.
   */
  connect(command: DirectConnect): boolean {
    if (this.direct !== 'none' || !this.open) return false;
    this.direct = 'asked';
    const waiter = this.connectWaiter;
    this.connectWaiter = undefined;
    if (waiter) waiter(command);
    else this.pendingConnect = command;
    return true;
  }

  /** Interrupts the job (7L): the document ends here and the device takes the rest over its own connection. */
  interrupt(): void {
    this.interrupted = true;
    this.end();
  }

  /** Calls fn with what the device says of its direct connection; returns the unsubscribe. */
  onDirect(fn: (state: 'connected' | 'refused') => void): () => void {
    this.directListeners.add(fn);
    return () => this.directListeners.delete(fn);
  }

  /** A tunnel carries the job (again): no grace timer runs. */
  attach(): void {
    this.tunnels++;
    if (this.grace !== undefined) this.clock.clearTimeout(this.grace);
    this.grace = undefined;
  }

  /** The tunnel went away mid-job: give the cloud graceMs to resume it, then abort on the device. */
  detach(): void {
    if (this.final || this.grace !== undefined) return;
    this.grace = this.clock.setTimeout(() => {
      this.grace = undefined;
      this.fail('no tunnel resumed the job in time');
    }, this.graceMs);
  }

  /** Aborts the job at the device. */
  fail(reason: string): void {
    if (this.final) return;
    this.abort.abort(new Error(reason));
    this.document.destroy();
  }

  private directReported(state: 'connected' | 'refused'): void {
    if (state === 'connected') {
      this.direct = 'connected';
      this.directUpAt ??= this.clock.now();
    } else {
      // The device cannot connect: the job goes on here, and the cloud may ask again later.
      this.direct = 'none';
      this.pendingConnect = undefined;
    }
    for (const fn of this.directListeners) fn(state);
  }

  private settle(event: JobEvent): void {
    if (this.final) return;
    this.final = event;
    this.settledAt = this.clock.now();
    // The job is kept a while for its outcome only: let go of what the driver was waiting on.
    this.connectWaiter = undefined;
    this.pendingConnect = undefined;
    this.directListeners.clear();
    if (this.grace !== undefined) this.clock.clearTimeout(this.grace);
    this.grace = undefined;
    for (const fn of this.listeners) fn(event);
    this.listeners.clear();
  }
}

function eventOf(result: PrintResult): JobEvent {
  if (result.handedOver) return { event: 'switched', offset: result.handedOver.offset };
  return {
    event: 'done',
    bytes: result.bytesSent,
    ...(result.pages !== undefined ? { pages: result.pages } : {}),
    ...(result.deviceJobId ? { deviceJobId: result.deviceJobId.slice(0, 256) } : {}),
  };
}

function failureOf(err: unknown): JobEvent {
  if (err instanceof DeviceError)
    return { event: 'failed', code: err.code, reason: err.message.slice(0, 2048) };
  const message = err instanceof Error ? err.message : String(err);
  return { event: 'failed', code: 'MFP_JOB_ERR_INTERNAL', reason: message.slice(0, 2048) };
}
