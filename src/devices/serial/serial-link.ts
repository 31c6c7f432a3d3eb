import type { SerialPort } from 'serialport';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import { Backoff } from '../../retry/backoff.ts';
import { onDemand } from '../../runtime/on-demand.ts';
import { DeviceError } from '../device-error.ts';
import type { PjlChannel, PjlLink } from '../pjl/pjl-channel.ts';
import { pollBothWays } from './poll-both-ways.ts';

/** Line settings of an RS-232 / USB-serial port, as configured per device. */
export interface SerialLineSettings {
  /** Prefer /dev/serial/by-id/… : it survives replugging into another USB port. */
  path: string;
  baudRate: number;
  dataBits?: 5 | 6 | 7 | 8;
  stopBits?: 1 | 1.5 | 2;
  parity?: 'none' | 'even' | 'odd' | 'mark' | 'space';
  /** Hardware flow control (RTS/CTS). */
  rtscts?: boolean;
  /** Software flow control (XON/XOFF) in both directions. */
  xonxoff?: boolean;
}

/** The parts of a serialport stream the link uses; SerialPort and SerialPortMock both fit. */
export type SerialPortLike = Pick<
  SerialPort,
  'open' | 'close' | 'write' | 'on' | 'once' | 'off' | 'isOpen' | 'removeAllListeners' | 'port'
>;

export interface SerialLinkOptions extends SerialLineSettings {
  deviceId: string;
  clock: Clock;
  logger?: Logger;
  /** Reopen backoff after an unplug or a failed open (defaults 500 ms doubling to 30 s). */
  reopenInitialMs?: number;
  reopenMaxMs?: number;
  /** Bytes the link lets sit in the port's write queue before a write waits (default 64 KiB). */
  maxQueuedBytes?: number;
  /** Makes the port (not yet open) with that write queue bound as its highWaterMark; tests inject SerialPortMock. */
  createPort?: (settings: SerialLineSettings, highWaterMark: number) => SerialPortLike;
}

export type LineState = { up: true; since: number } | { up: false; since: number; reason: string };

function realPort(s: SerialLineSettings, highWaterMark: number): SerialPortLike {
  const { SerialPort } = onDemand('serialport');
  return new SerialPort({
    highWaterMark,
    path: s.path,
    baudRate: s.baudRate,
    dataBits: s.dataBits ?? 8,
    stopBits: s.stopBits ?? 1,
    parity: s.parity ?? 'none',
    rtscts: s.rtscts ?? false,
    xon: s.xonxoff ?? false,
    xoff: s.xonxoff ?? false,
    autoOpen: false,
  });
}

/**
 * A serial line to a PJL device that outlives unplugging: when the port closes or errors,
 * the line is down (since when, and why), the running operation fails, and the port is
 * reopened with capped exponential backoff on the injected clock until it is back.
 * Writes wait while more than maxQueuedBytes are queued in the port, so a slow printer
 * (or flow control holding the line) pushes back on the document's source.
 */
export class SerialLink implements PjlLink {
  readonly description: string;
  private readonly options: SerialLinkOptions;
  private readonly backoff: Backoff;
  private port: SerialPortLike | undefined;
  private state: LineState;
  private timer: TimerHandle | undefined;
  private closed = false;
  private readonly lostListeners = new Set<(reason: Error) => void>();
  private readonly dataListeners = new Set<(chunk: Buffer) => void>();
  private readonly stateListeners = new Set<(state: LineState) => void>();

  constructor(options: SerialLinkOptions) {
    this.options = options;
    this.description = options.path;
    this.backoff = new Backoff({
      initialMs: options.reopenInitialMs ?? 500,
      maxMs: options.reopenMaxMs ?? 30_000,
    });
    this.state = { up: false, since: options.clock.now(), reason: 'not opened yet' };
  }

  /** Opens the port now and keeps it open from then on; resolves after the first attempt. */
  async start(): Promise<void> {
    await this.tryOpen();
  }

  get lineState(): LineState {
    return this.state;
  }

  /** Calls fn on every up/down change; returns the unsubscribe function. */
  onStateChange(fn: (state: LineState) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  async open(): Promise<PjlChannel> {
    const port = this.port;
    if (this.closed) throw new DeviceError('MFP_DEV_ERR_CLOSED', this.options.deviceId, 'serial link closed');
    if (!port || !this.state.up) {
      const s = this.state;
      throw new DeviceError(
        'MFP_DEV_ERR_UNREACHABLE',
        this.options.deviceId,
        `serial line ${this.description} is down since ${new Date(s.since).toISOString()} (${s.up ? '' : s.reason}); ` +
          'check the cable and adapter; the gateway reopens it by itself',
      );
    }
    return this.channel(port);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.options.clock.clearTimeout(this.timer);
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  private channel(port: SerialPortLike): PjlChannel {
    return {
      write: (chunk) =>
        new Promise((resolve, reject) => {
          if (this.port !== port || !this.state.up) {
            reject(new Error(`serial line ${this.description} is down`));
            return;
          }
          // write() says false once the queue is past its highWaterMark (maxQueuedBytes): wait for drain.
          if (port.write(chunk)) {
            resolve();
            return;
          }
          const onLost = (reason: Error) => {
            port.off('drain', onDrain);
            reject(reason);
          };
          const onDrain = () => {
            this.lostListeners.delete(onLost);
            resolve();
          };
          this.lostListeners.add(onLost);
          port.once('drain', onDrain);
        }),
      onData: (listener) => {
        this.dataListeners.add(listener);
        return () => this.dataListeners.delete(listener);
      },
      onLost: (listener) => {
        this.lostListeners.add(listener);
        return () => this.lostListeners.delete(listener);
      },
      // The line stays open for the next operation.
      release: async () => {},
    };
  }

  private async tryOpen(): Promise<void> {
    if (this.closed) return;
    const port = (this.options.createPort ?? realPort)(
      this.options,
      this.options.maxQueuedBytes ?? 64 * 1024,
    );
    const error = await new Promise<Error | null>((resolve) => port.open((err) => resolve(err)));
    if (this.closed) {
      if (!error) port.close();
      return;
    }
    if (error) {
      this.setState({ up: false, since: this.downSince(), reason: error.message });
      this.scheduleReopen();
      return;
    }
    pollBothWays(port);
    this.port = port;
    this.backoff.reset();
    port.on('error', () => {});
    // Always reading, even between jobs: a hung-up line shows only as a read error, and
    // unsolicited status from the printer must not pile up in the port.
    port.on('data', (chunk: Buffer) => {
      for (const l of this.dataListeners) l(chunk);
    });
    port.once('close', (err?: Error) => this.lost(port, err ?? new Error('port closed')));
    // A hung-up pty or vanished adapter may read as end-of-file instead of an error.
    port.once('end', () => {
      this.lost(port, new Error('line hung up'));
      if (port.isOpen) port.close();
    });
    this.setState({ up: true, since: this.options.clock.now() });
    this.options.logger?.info({ device: this.options.deviceId, path: this.description }, 'serial line up');
  }

  private lost(port: SerialPortLike, err: Error): void {
    if (this.port !== port) return;
    this.port = undefined;
    port.removeAllListeners('data');
    const reason = new Error(`serial line ${this.description} lost: ${err.message}`);
    this.setState({ up: false, since: this.options.clock.now(), reason: err.message });
    for (const l of [...this.lostListeners]) l(reason);
    this.lostListeners.clear();
    this.options.logger?.warn(
      { device: this.options.deviceId, path: this.description, err: err.message },
      'serial line down',
    );
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (this.closed) return;
    this.timer = this.options.clock.setTimeout(() => {
      void this.tryOpen();
    }, this.backoff.next());
  }

  /** A line that keeps failing to open stays down since it first went down. */
  private downSince(): number {
    return this.state.up ? this.options.clock.now() : this.state.since;
  }

  private setState(state: LineState): void {
    const changed = state.up !== this.state.up;
    this.state = state;
    if (changed) for (const l of this.stateListeners) l(state);
  }
}
