import type { Readable } from 'node:stream';

/** What the job layer hands a driver: the document is streamed, never buffered whole. */
export interface PrintJob {
  /** The job's id in the gateway; drivers use it as the device-side job name so replies can be matched. */
  jobId: string;
  document: Readable;
  /** MIME type of the document, e.g. application/pdf; drivers map it to their protocol's notion. */
  format?: string;
  /** Human-readable job name shown on the device. */
  name?: string;
  /** Name of the user the job is printed for (LPD, IPP requesting-user-name). */
  user?: string;
  /** Document length in bytes when known; LPD needs it up front and spools to a temp file without it. */
  size?: number;
  /**
   * Seed 001's switch, for drivers with `canHandOver`: commands that go to the device in-band with
   * the document (docs/jobs.md).
   */
  direct?: DirectControl;
}

/** Where a direct-capable device connects to the cloud by itself (seed 001's 7G, as the gateway passes it on). */
export interface DirectConnect {
  /** Base URL the device connects to: the cloud, or its gateway's LAN relay to it (http or https). */
  url: string;
  /** One-time token for the device's direct connection. */
  token: string;
  /** The cloud streams the rest over the device's WebSocket (push), or the device fetches it (pull). */
  mode: 'push' | 'pull';
}

/** Seed 001's switch as a driver sees it: make the device connect, then interrupt the job. */
export interface DirectControl {
  /** Resolves with the next connection-establishment command (7G) to pass to the device. */
  nextConnect(): Promise<DirectConnect>;
  /**
   * Asked once the document stream ends: true when it ended because the job is interrupted
   * (7L) — the device keeps what it holds and takes the rest over its own connection.
   */
  interrupted(): boolean;
  /** What the device said of its direct connection: it is up, or it cannot connect (the job goes on here). */
  report(state: 'connected' | 'refused'): void;
}

/** The outcome of a print: returned only once the device itself reported the job completed. */
export interface PrintResult {
  /** The device's own job id or name, when it has one. */
  deviceJobId?: string;
  /** Document bytes handed to the device. */
  bytesSent: number;
  /** Pages the device reports for the job, when it reports them. */
  pages?: number;
  /** When the device reported completion (injected clock). */
  completedAt: number;
  /** Set when the device was interrupted and takes the rest over its own connection (no completion yet). */
  handedOver?: { offset: number };
}

export type DeviceState = 'idle' | 'printing' | 'stopped' | 'offline';

/** One marker supply (toner, ink, drum) as a fraction of its capacity, when the device tells it. */
export interface SupplyLevel {
  name: string;
  /** Current level in the device's unit; undefined when the device says "unknown". */
  level?: number;
  maxCapacity?: number;
  /** level / maxCapacity in [0, 1], when both are known. */
  fraction?: number;
}

/** A snapshot of a device as its driver last saw it. */
export interface DeviceStatus {
  state: DeviceState;
  /**
   * Why the device is not simply idle or printing, as IPP printer-state-reasons keywords
   * (media-empty, media-jam, door-open, offline, toner-low, ...), whatever the protocol.
   */
  reasons: string[];
  /** Lifetime page count (meter), when the protocol reports it. */
  pageCount?: number;
  supplies?: SupplyLevel[];
  /** Formats the device accepts, when the protocol says. */
  formats?: string[];
  /** Free text from the device's panel or state message. */
  message?: string;
  /** Since when the device has been in `state` (injected clock, ms since epoch). */
  since: number;
}

/**
 * One way of talking to one device. A job and a status query do not care how the device
 * is reached; they only see this. Errors are DeviceError values with stable codes.
 */
export interface DeviceDriver {
  readonly id: string;
  /** The driver can hand a running job to the device's own connection (PrintJob.direct). */
  readonly canHandOver?: boolean;
  /** Sends the job's document and resolves once the device reports the job completed. */
  print(job: PrintJob, signal?: AbortSignal): Promise<PrintResult>;
  /**
   * Asks the device for its current state. An unreachable or silent device resolves as
   * `offline` (with `since` = when it was first found so); a reply that does not parse rejects
   * with MFP_DEV_ERR_MALFORMED_REPLY.
   */
  status(): Promise<DeviceStatus>;
  /** Releases sockets, ports and timers; later calls reject with MFP_DEV_ERR_CLOSED. */
  close(): Promise<void>;
}
