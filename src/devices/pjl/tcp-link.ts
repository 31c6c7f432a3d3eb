import { connect, type Socket } from 'node:net';
import type { Clock } from '../../clock/clock.ts';
import { DeviceError } from '../device-error.ts';
import type { PjlChannel, PjlLink } from './pjl-channel.ts';

export interface TcpLinkOptions {
  deviceId: string;
  host: string;
  /** Default 9100, the de-facto raw printing port (HP JetDirect). */
  port?: number;
  clock: Clock;
  /** Connect attempts that take longer fail with MFP_DEV_ERR_TIMEOUT (default 10 s). */
  connectTimeoutMs?: number;
}

/** Raw TCP (port 9100): a new connection per operation, as printers serve one at a time. */
export class TcpLink implements PjlLink {
  readonly description: string;
  private readonly options: TcpLinkOptions;
  private readonly sockets = new Set<Socket>();

  constructor(options: TcpLinkOptions) {
    this.options = options;
    this.description = `${options.host}:${options.port ?? 9100}`;
  }

  open(signal?: AbortSignal): Promise<PjlChannel> {
    const { deviceId, host, clock } = this.options;
    const port = this.options.port ?? 9100;
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, signal });
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      const timer = clock.setTimeout(() => {
        socket.destroy();
        reject(
          new DeviceError(
            'MFP_DEV_ERR_TIMEOUT',
            deviceId,
            `no TCP connection to ${this.description} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      socket.once('error', (err) => {
        clock.clearTimeout(timer);
        reject(
          new DeviceError(
            signal?.aborted ? 'MFP_DEV_ERR_ABORTED' : 'MFP_DEV_ERR_UNREACHABLE',
            deviceId,
            `cannot connect to ${this.description} (${err.message}); check that the printer is on and port ${port} is open`,
            { cause: err },
          ),
        );
      });
      socket.once('connect', () => {
        clock.clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(socketChannel(socket));
      });
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
  }
}

function socketChannel(socket: Socket): PjlChannel {
  let lost: Error | undefined;
  const lostListeners = new Set<(reason: Error) => void>();
  const markLost = (reason: Error) => {
    if (lost) return;
    lost = reason;
    for (const l of lostListeners) l(reason);
  };
  socket.on('error', (err) => markLost(err));
  socket.on('close', () => markLost(new Error('connection closed by the device')));
  socket.on('end', () => markLost(new Error('device ended the connection')));
  return {
    write(chunk) {
      if (lost) return Promise.reject(lost);
      return new Promise((resolve, reject) => {
        const offLost = (reason: Error) => reject(reason);
        lostListeners.add(offLost);
        const done = () => {
          lostListeners.delete(offLost);
          resolve();
        };
        if (socket.write(chunk)) done();
        else socket.once('drain', done);
      });
    },
    onData(listener) {
      socket.on('data', listener);
      return () => socket.off('data', listener);
    },
    onLost(listener) {
      if (lost) queueMicrotask(() => listener(lost as Error));
      lostListeners.add(listener);
      return () => lostListeners.delete(listener);
    },
    async release(options) {
      await new Promise<void>((resolve) => {
        if (socket.destroyed) return resolve();
        if (options?.abort) {
          // Closing a 9100 connection ends the job at the printer; no need to flush the rest.
          socket.destroy();
          return resolve();
        }
        socket.once('close', () => resolve());
        // Our bytes are flushed by the time end() calls back; the printer's FIN is not awaited.
        socket.end(() => socket.destroy());
      });
    },
  };
}
