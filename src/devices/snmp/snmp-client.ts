import type { ResponseCallback, Session, Varbind } from 'net-snmp';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import { onDemand } from '../../runtime/on-demand.ts';
import { asDeviceError, DeviceError } from '../device-error.ts';

export interface SnmpClientOptions {
  /** Id of the device, for errors. */
  deviceId: string;
  host: string;
  port: number;
  community: string;
  clock: Clock;
  /** How long one attempt waits for its reply on the injected clock. */
  timeoutMs: number;
  /** Re-sends after the first attempt; a reply to any attempt completes the request. */
  retries: number;
  /** Aborting fails the outstanding request with MFP_DEV_ERR_CLOSED and closes the socket. */
  signal?: AbortSignal;
  /** Most rows one walk may return before the agent is judged to loop (default 1024). */
  maxWalkRows?: number;
}

/**
 * net-snmp's own timer per request. It decides nothing (its RequestTimedOutError is
 * ignored: only the injected clock times a request out); it only lets go of a request
 * whose socket was closed while the datagram was still being sent.
 */
function libraryTimeoutMs(timeoutMs: number, retries: number): number {
  return Math.min(2 ** 31 - 1, 2 * timeoutMs * (retries + 1));
}

/** GetBulk repetitions per walk step: a printer's supplies table fits in one reply. */
const WALK_REPETITIONS = 16;

/**
 * One SNMP v2c conversation with one agent over one UDP socket, requests one at a time.
 * Timeouts and retries run on the injected clock; every failure is a DeviceError:
 * no reply at all is MFP_DEV_ERR_TIMEOUT (in v2c a wrong community looks the same), a
 * datagram that is not SNMP or a reply that does not answer the request is
 * MFP_DEV_ERR_MALFORMED_REPLY, an error-status in the reply is MFP_DEV_ERR_REJECTED.
 */
export class SnmpClient {
  private readonly options: SnmpClientOptions;
  private readonly snmp: typeof import('net-snmp');
  private readonly session: Session;
  private closed = false;
  /** Fails the outstanding request, if any; set while one runs. */
  private failPending: ((err: DeviceError) => void) | undefined;
  private readonly onAbort = (): void => this.close();

  constructor(options: SnmpClientOptions) {
    this.options = options;
    this.snmp = onDemand('net-snmp');
    this.session = this.snmp.createSession(options.host, options.community, {
      port: options.port,
      version: this.snmp.Version2c,
      retries: 0,
      timeout: libraryTimeoutMs(options.timeoutMs, options.retries),
    });
    // The session reports a datagram it cannot decode here, not to the request it may belong to.
    this.session.on('error', (err) =>
      this.failPending?.(this.malformed(`answered with a datagram that is not SNMP (${err.message})`, err)),
    );
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    if (options.signal?.aborted) this.close();
  }

  /**
   * GetRequest for the given instance OIDs; in v2c a missing object comes back as an
   * exception varbind. what names the request in errors ("GET of <what>").
   */
  get(oids: string[], what: string): Promise<Varbind[]> {
    return this.request<Varbind[]>(`GET of ${what}`, (cb) => this.session.get(oids, cb));
  }

  /** Every object under base, in order, by GetBulk steps; stops at the first OID outside it. */
  async walk(base: string): Promise<Varbind[]> {
    const rows: Varbind[] = [];
    const maxRows = this.options.maxWalkRows ?? 1024;
    let cursor = base;
    for (;;) {
      const reply = await this.request<Array<Varbind | Varbind[]>>(`walk of ${base}`, (cb) =>
        this.session.getBulk([cursor], 0, WALK_REPETITIONS, cb),
      );
      const step = reply[0];
      const varbinds = step === undefined ? [] : Array.isArray(step) ? step : [step];
      if (varbinds.length === 0) return rows;
      for (const v of varbinds) {
        if (v.type === this.snmp.ObjectType.EndOfMibView || !oidInSubtree(base, v.oid)) return rows;
        if (this.snmp.isVarbindError(v))
          throw this.malformed(`answered the walk of ${base} with an exception at ${v.oid}`);
        if (compareOids(v.oid, cursor) <= 0) {
          throw this.malformed(`walked backwards from ${cursor} to ${v.oid} under ${base}`);
        }
        rows.push(v);
        cursor = v.oid;
        if (rows.length > maxRows) throw this.malformed(`returned more than ${maxRows} rows under ${base}`);
      }
    }
  }

  /** Closes the socket; an outstanding request fails with MFP_DEV_ERR_CLOSED. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.failPending?.(this.closedError());
    this.session.close();
  }

  private request<T>(what: string, send: (cb: ResponseCallback<T>) => void): Promise<T> {
    const { clock, timeoutMs, retries } = this.options;
    if (this.closed) return Promise.reject(this.closedError());
    return new Promise<T>((resolve, reject) => {
      let attempts = 0;
      let timer: TimerHandle | undefined;
      let settled = false;
      const settle = (err: DeviceError | undefined, value?: T): void => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(timer);
        this.failPending = undefined;
        if (err) reject(err);
        else resolve(value as T);
      };
      this.failPending = (err) => settle(err);
      const attempt = (): void => {
        attempts++;
        timer = clock.setTimeout(() => {
          if (attempts <= retries) attempt();
          else settle(this.timeoutError(what, attempts));
        }, timeoutMs);
        send((error, value) => {
          if (error instanceof this.snmp.RequestTimedOutError) return;
          if (error) settle(this.classify(error, what));
          else settle(undefined, value);
        });
      };
      attempt();
    });
  }

  private classify(error: Error, what: string): DeviceError {
    if (this.closed) return this.closedError();
    if (error instanceof this.snmp.ResponseInvalidError) {
      return this.malformed(`answered ${what} with a reply that does not match it (${error.message})`, error);
    }
    if (error instanceof this.snmp.RequestFailedError) {
      return new DeviceError(
        'MFP_DEV_ERR_REJECTED',
        this.options.deviceId,
        `SNMP agent at ${this.target()} refused ${what} (${error.message}); check the OIDs and the community's access rights`,
        { cause: error },
      );
    }
    return asDeviceError(error, this.options.deviceId, `SNMP to ${this.target()}`);
  }

  private timeoutError(what: string, attempts: number): DeviceError {
    return new DeviceError(
      'MFP_DEV_ERR_TIMEOUT',
      this.options.deviceId,
      `no SNMP reply from ${this.target()} to ${what} after ${attempts} attempt(s) of ${this.options.timeoutMs} ms; ` +
        'check that the device is on and reachable, that SNMP v2c is enabled on it and that the community string is right',
    );
  }

  private malformed(detail: string, cause?: unknown): DeviceError {
    return new DeviceError(
      'MFP_DEV_ERR_MALFORMED_REPLY',
      this.options.deviceId,
      `SNMP agent at ${this.target()} ${detail}; check the device's SNMP agent or firmware`,
      { cause },
    );
  }

  private closedError(): DeviceError {
    return new DeviceError(
      'MFP_DEV_ERR_CLOSED',
      this.options.deviceId,
      'SNMP request abandoned: the poller was stopped',
    );
  }

  private target(): string {
    return `${this.options.host}:${this.options.port}`;
  }
}

/** True when oid lies strictly under base. */
function oidInSubtree(base: string, oid: string): boolean {
  return oid.startsWith(`${base}.`);
}

/** Orders OIDs arc by arc, numerically (1.10 after 1.9). */
function compareOids(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i] as number) - (y[i] as number);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}
