import { createHash } from 'node:crypto';
import { createWriteStream, realpathSync } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { SerialPort } from 'serialport';
import { pollBothWays } from '../../devices/serial/poll-both-ways.ts';
import { DirectConnectError, type DirectRequest } from './direct-handover.ts';
import { DirectConnection, type DirectTransfer, describeTransfer } from './direct-transfer.ts';
import type { DirectWord, InterruptAnswer, JobSink, PjlDeviceHost } from './pjl-device-session.ts';
import { PjlDeviceSession } from './pjl-device-session.ts';
import { SyslogSender } from './syslog-sender.ts';

export type { DirectTransfer } from './direct-transfer.ts';

/** Faults a test or a demo can switch on: what a real MFP does to its drivers. */
export type SimFault = 'paper-out' | 'offline';

export interface SimMfpOptions {
  /** Where received documents are stored, one file per job: `<seq>-<job name>.prn`. */
  spoolDir: string;
  /** Starting page counter (default 0). */
  pageCount?: number;
  /** Toner capacity in pages and starting level (defaults 1000 / 1000). */
  tonerCapacity?: number;
  tonerLevel?: number;
  /**
   * Connects to the cloud by itself when told (`@PJL MFPGW CONNECT`) and takes the job over on
   * `@PJL MFPGW INTERRUPT` (default false: it refuses, and the job goes on over the channel).
   */
  directCapable?: boolean;
  /** Where to send the connection log of direct transfers, RFC 5424 over UDP (default: nowhere). */
  syslog?: { host: string; port: number };
}

export interface StoredJob {
  seq: number;
  name: string;
  path: string;
  bytes: number;
  pages: number;
  /** SHA-256 of the stored document, hex. */
  sha256: string;
}

const STATUS_READY = { code: 10001, display: 'READY', online: true };
const STATUS_PAPER_OUT = { code: 41303, display: 'LOAD PAPER TRAY 3', online: true };
const STATUS_OFFLINE = { code: 10002, display: 'OFFLINE', online: false };

/**
 * A simulated office MFP for tests and demos: speaks PJL on a raw TCP port (9100 style) and
 * on any other byte stream (a serial line), stores each job's document byte-exact, counts
 * pages and toner, and fails on demand (paper out, offline, slow consumer).
 */
export class SimMfp implements PjlDeviceHost {
  readonly jobs: StoredJob[] = [];
  /** Direct transfers that have settled (complete or failed), in the order they did. */
  readonly directTransfers: DirectTransfer[] = [];
  private readonly options: SimMfpOptions;
  private pages: number;
  private toner: number;
  private fault: SimFault | undefined;
  private bytesPerSecond: number | undefined;
  private printableWaiters: Array<() => void> = [];
  private readonly sessions = new Set<PjlDeviceSession>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private seq = 0;
  private received = 0;
  private readonly listeners = new Set<() => void>();
  private readonly serialPorts = new Set<SerialPort>();
  private readonly storedListeners = new Set<(job: StoredJob) => void>();
  private readonly directListeners = new Set<(transfer: DirectTransfer) => void>();
  /** Direct connections made for jobs still coming over a channel, by job name. */
  private readonly connections = new Map<string, DirectConnection>();
  /** Direct transfers under way. */
  private readonly running = new Set<Promise<DirectTransfer>>();
  /** Stops every direct connection and transfer (close). */
  private readonly stopping = new AbortController();
  private readonly syslog: SyslogSender | undefined;
  private closed = false;
  private serialOpenCount = 0;

  constructor(options: SimMfpOptions) {
    this.options = options;
    this.pages = options.pageCount ?? 0;
    this.toner = options.tonerLevel ?? options.tonerCapacity ?? 1000;
    this.syslog = options.syslog ? new SyslogSender(options.syslog, 'sim-mfp') : undefined;
  }

  /** Listens for raw PJL connections; resolves with the bound port. */
  async listenPjl(port = 0, host = '127.0.0.1'): Promise<number> {
    await mkdir(this.options.spoolDir, { recursive: true });
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      this.attach(socket);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return (server.address() as { port: number }).port;
  }

  /** Serves PJL on an already open byte stream (a socket, a serial port) until it closes. */
  attach(stream: Duplex): PjlDeviceSession {
    const session = new PjlDeviceSession(stream, this);
    this.sessions.add(session);
    stream.once('close', () => this.sessions.delete(session));
    return session;
  }

  /**
   * Serves PJL on a serial port (the MFP end of an RS-232 cable). When the port goes away
   * (cable pulled, pty closed) the sim keeps trying to reopen the same path every
   * retryMs, like firmware waiting for its line to come back.
   */
  async serveSerial(path: string, baudRate = 115_200, retryMs = 100): Promise<void> {
    await mkdir(this.options.spoolDir, { recursive: true });
    const opened = new Promise<void>((resolveFirst) => {
      const tryOpen = (): void => {
        if (this.closed) return;
        const port = new SerialPort({ path, baudRate, autoOpen: false });
        port.open((err) => {
          if (err || this.closed) {
            if (!err) port.close();
            setTimeout(tryOpen, retryMs);
            return;
          }
          pollBothWays(port);
          this.serialPorts.add(port);
          // A pty whose far end died does not always wake a paused reader; a replug shows as
          // the path now naming another device, so that also counts as the cable being pulled.
          const device = resolvedPath(path);
          const watch = setInterval(() => {
            if (resolvedPath(path) !== device && port.isOpen) port.close();
          }, retryMs);
          watch.unref();
          port.once('close', () => clearInterval(watch));
          port.on('error', () => {});
          // A hung-up line reads as end-of-file: close our end so the retry loop takes over.
          port.once('end', () => {
            if (port.isOpen) port.close();
          });
          port.once('close', () => {
            this.serialPorts.delete(port);
            this.notify();
            setTimeout(tryOpen, retryMs);
          });
          this.attach(port);
          this.serialOpenCount++;
          this.notify();
          resolveFirst();
        });
      };
      tryOpen();
    });
    await opened;
  }

  /** How many times a serial port was opened (a replug shows as one more). */
  get serialOpens(): number {
    return this.serialOpenCount;
  }

  /** Switches a fault on (or all off with undefined) and tells every channel that asked for USTATUS DEVICE. */
  setFault(fault: SimFault | undefined): void {
    this.fault = fault;
    for (const s of this.sessions) s.announceDevice();
    this.notify();
    if (!fault) {
      const waiters = this.printableWaiters;
      this.printableWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Reads at most this many bytes per second from every channel (undefined: full speed). */
  setSlowConsumer(bytesPerSecond: number | undefined): void {
    this.bytesPerSecond = bytesPerSecond;
  }

  get pageCounter(): number {
    return this.pages;
  }

  /** Toner as pages left and capacity, for the SNMP supplies table. */
  get tonerState(): { level: number; capacity: number } {
    return { level: this.toner, capacity: this.options.tonerCapacity ?? 1000 };
  }

  /** Document bytes stored so far over all jobs, including the one being received. */
  get documentBytesReceived(): number {
    return this.received;
  }

  get currentFault(): SimFault | undefined {
    return this.fault;
  }

  /** Calls fn whenever document bytes arrive or counters or faults change (the SNMP agent mirrors them). */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Calls fn with every job once its document is safely stored. */
  onJobStored(fn: (job: StoredJob) => void): () => void {
    this.storedListeners.add(fn);
    return () => this.storedListeners.delete(fn);
  }

  /** Calls fn when a direct connection is up (or cannot be made), when the device takes a job over, and when that settles. */
  onDirectTransfer(fn: (transfer: DirectTransfer) => void): () => void {
    this.directListeners.add(fn);
    return () => this.directListeners.delete(fn);
  }

  /** Stops listening and serving; direct transfers under way are stopped and their jobs discarded. */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.sockets) s.destroy();
    for (const p of this.serialPorts) if (p.isOpen) p.close();
    this.stopping.abort();
    await Promise.all(this.running);
    await this.syslog?.close();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }

  // ------------------------------------------------------------- PjlDeviceHost

  statusFields(): { code: number; display: string; online: boolean } {
    if (this.fault === 'paper-out') return STATUS_PAPER_OUT;
    if (this.fault === 'offline') return STATUS_OFFLINE;
    return STATUS_READY;
  }

  pageCount(): number {
    return this.pages;
  }

  readDelayMs(bytes: number): number {
    return this.bytesPerSecond ? Math.ceil((bytes / this.bytesPerSecond) * 1000) : 0;
  }

  whenPrintable(): Promise<void> {
    if (!this.fault) return Promise.resolve();
    return new Promise((resolve) => this.printableWaiters.push(resolve));
  }

  beginJob(name: string): JobSink {
    const seq = ++this.seq;
    const path = join(this.options.spoolDir, `${seq}-${name.replace(/[^\w.-]/g, '_') || 'untitled'}.prn`);
    const file = createWriteStream(path);
    // Errors reach the session through write/finish callbacks; the stream must not throw them.
    file.on('error', () => {});
    const hash = createHash('sha256');
    let bytes = 0;
    let formFeeds = 0;
    let last = -1;
    // Whichever of finish and discard comes first decides; the job is stored at most once.
    let closing: Promise<StoredJob> | undefined;
    const close = (): Promise<void> =>
      new Promise((resolve, reject) => {
        file.once('error', reject);
        file.end(() => resolve());
      });
    return {
      get bytes() {
        return bytes;
      },
      write: (chunk) => {
        if (closing) return Promise.reject(new Error(`job ${name} is already closed`));
        if (chunk.length === 0) return Promise.resolve();
        bytes += chunk.length;
        this.received += chunk.length;
        hash.update(chunk);
        for (const b of chunk) if (b === 0x0c) formFeeds++;
        last = chunk[chunk.length - 1] ?? last;
        return new Promise((resolve, reject) => {
          file.write(chunk, (err) => {
            if (err) return reject(err);
            this.notify();
            resolve();
          });
        });
      },
      finish: () => {
        // The job ended over its channel: a direct connection made for it is not needed.
        this.connections.get(name)?.cancel();
        this.connections.delete(name);
        closing ??= close().then(() => {
          // A page ends at each form feed; trailing bytes after the last one make one more page.
          const pages = Math.max(1, formFeeds + (bytes > 0 && last !== 0x0c ? 1 : 0));
          this.pages += pages;
          this.toner = Math.max(0, this.toner - pages);
          const job = { seq, name, path, bytes, pages, sha256: hash.digest('hex') };
          this.jobs.push(job);
          this.notify();
          for (const l of this.storedListeners) l(job);
          return job;
        });
        return closing;
      },
      discard: async () => {
        if (closing) return;
        closing = Promise.reject(new Error(`job ${name} was discarded`));
        closing.catch(() => {});
        await close().catch(() => {});
        await unlink(path).catch(() => {});
      },
    };
  }

  connect(
    name: string,
    request: DirectRequest | DirectConnectError,
    report: (word: DirectWord) => void,
  ): void {
    if (!this.options.directCapable || request instanceof DirectConnectError || this.closed) {
      report('REFUSED');
      return;
    }
    if (this.connections.has(name)) return; // already connecting: a repeated command changes nothing
    const connection = new DirectConnection({
      request,
      signal: this.stopping.signal,
      whenPrintable: () => this.whenPrintable(),
      onProgress: (transfer) => this.reportDirect(transfer),
    });
    this.connections.set(name, connection);
    void connection.established.then((up) => {
      if (!up && this.connections.get(name) === connection) this.connections.delete(name);
      report(up ? 'CONNECTED' : 'REFUSED');
    });
  }

  async interrupt(name: string, sink: JobSink): Promise<InterruptAnswer> {
    const connection = this.connections.get(name);
    this.connections.delete(name);
    if (!connection || !(await connection.established)) {
      // With no connection of its own the job cannot go on: it is dropped whole and the gateway fails it.
      await sink.discard();
      return { accepted: false };
    }
    const run = connection.takeOver(sink);
    this.running.add(run);
    void run.then(() => this.running.delete(run));
    return { accepted: true, offset: sink.bytes };
  }

  private reportDirect(transfer: DirectTransfer): void {
    if (transfer.outcome === 'complete' || transfer.outcome === 'failed') this.directTransfers.push(transfer);
    this.syslog?.send('direct', describeTransfer(transfer), transfer.name);
    for (const l of this.directListeners) l(transfer);
    this.notify();
  }
}

function resolvedPath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}
