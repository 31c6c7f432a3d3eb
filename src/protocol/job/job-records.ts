import { z } from 'zod';

/**
 * The job stream: what travels inside a tunnel whose OPEN names a device (docs/jobs.md).
 *
 * Cloud → gateway: records `type (u8) | length (u32 BE) | payload`:
 * - DATA      document bytes, in order, from the offset the gateway asked for;
 * - CONNECT   JSON {url, token, via, mode}: seed 001's connection-establishment command (7G) — the
 *             device is to connect to the cloud by itself (via "gateway": through the gateway's
 *             relay, for a site that lets only the gateway out; mode "push": the cloud streams the
 *             rest over a WebSocket, "pull": the device fetches it). DATA goes on meanwhile;
 * - END       JSON {size, sha256}: the document is complete;
 * - INTERRUPT JSON {offset}: seed 001's interrupt command (7L), sent once the device's own
 *             connection is up — no DATA follows; the device keeps what it holds and takes the rest
 *             over that connection.
 * Gateway → cloud: one JSON object per line (JobEvent), ending with done, switched or failed.
 *
 * Written here because it is our own protocol on top of our own tunnel; no library speaks it.
 */

export const JobRecordType = { DATA: 1, CONNECT: 2, END: 3, INTERRUPT: 4 } as const;

export const JOB_RECORD_HEADER_BYTES = 5;
/** Largest record payload either end sends or accepts. */
export const MAX_JOB_RECORD_PAYLOAD = 256 * 1024;
/** Largest control record (CONNECT, END, INTERRUPT) accepted. */
const MAX_CONTROL_PAYLOAD = 8 * 1024;
/** Largest event line accepted from the gateway. */
export const MAX_JOB_EVENT_LINE = 8 * 1024;

const offset = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const connectCommandSchema = z.object({
  /** Base URL of the cloud the device connects to (http or https). */
  url: z.url({ protocol: /^https?$/ }),
  /** One-time token the device presents on its direct connection. */
  token: z.string().min(16).max(256),
  /**
   * How the device reaches `url`: by itself ("own"), or through the gateway's LAN relay
   * ("gateway") when the site lets only the gateway out. Absent: own.
   */
  via: z.enum(['own', 'gateway']).default('own'),
  /**
   * Who moves the rest: the cloud streams it over the device's WebSocket ("push") or the device
   * fetches it over HTTP ("pull"). Absent: pull.
   */
  mode: z.enum(['push', 'pull']).default('pull'),
});
export type ConnectCommand = z.output<typeof connectCommandSchema>;
/** How a switched job's rest reaches the device (docs/jobs.md). */
export type DirectMode = ConnectCommand['mode'];

/** The interrupt: DATA stopped at `offset` (all the document bytes the cloud sent on this tunnel). */
export const interruptRecordSchema = z.object({ offset });
export type InterruptRecord = z.output<typeof interruptRecordSchema>;

export const endRecordSchema = z.object({ size: offset, sha256: z.string().regex(/^[0-9a-f]{64}$/) });
export type EndRecord = z.output<typeof endRecordSchema>;

export type JobRecord =
  | { type: 'data'; payload: Buffer }
  | { type: 'connect'; command: ConnectCommand }
  | { type: 'end'; end: EndRecord }
  | { type: 'interrupt'; interrupt: InterruptRecord };

export const jobEventSchema = z.discriminatedUnion('event', [
  /** The gateway is ready for document bytes from `offset` (a resumed job continues there). */
  z.object({ event: z.literal('ready'), offset }),
  /** The device reported the job completed. */
  z.object({
    event: z.literal('done'),
    bytes: offset,
    pages: z.number().int().min(0).optional(),
    deviceJobId: z.string().max(256).optional(),
  }),
  /** The device was interrupted holding `offset` bytes and takes the rest over its own connection. */
  z.object({ event: z.literal('switched'), offset }),
  /** The driver or device cannot connect directly; the job goes on through the tunnel. */
  z.object({ event: z.literal('switch-refused'), reason: z.string().max(1024) }),
  /** The job failed at the gateway or the device. */
  z.object({ event: z.literal('failed'), code: z.string().max(64), reason: z.string().max(2048) }),
]);
export type JobEvent = z.output<typeof jobEventSchema>;

/** A job stream that breaks the format: the stream is reset, the job is not guessed at. */
export class JobStreamError extends Error {
  readonly code: 'MFP_JOB_ERR_BAD_RECORD' | 'MFP_JOB_ERR_BAD_EVENT';
  constructor(code: JobStreamError['code'], message: string) {
    super(message);
    this.name = 'JobStreamError';
    this.code = code;
  }
}

function header(type: number, length: number): Buffer {
  const h = Buffer.allocUnsafe(JOB_RECORD_HEADER_BYTES);
  h.writeUInt8(type, 0);
  h.writeUInt32BE(length, 1);
  return h;
}

/** Header of a DATA record; the caller writes the payload after it (no copy). */
export function dataHeader(length: number): Buffer {
  if (length < 1 || length > MAX_JOB_RECORD_PAYLOAD) throw new RangeError(`DATA length ${length}`);
  return header(JobRecordType.DATA, length);
}

export function encodeConnect(command: z.input<typeof connectCommandSchema>): Buffer {
  return control(JobRecordType.CONNECT, command);
}

export function encodeInterrupt(interrupt: InterruptRecord): Buffer {
  return control(JobRecordType.INTERRUPT, interrupt);
}

function control(type: number, value: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(value));
  return Buffer.concat([header(type, body.length), body]);
}

export function encodeEnd(end: EndRecord): Buffer {
  return control(JobRecordType.END, end);
}

export function encodeEvent(event: JobEvent): Buffer {
  return Buffer.from(`${JSON.stringify(event)}\n`);
}

function parseJson<T>(payload: Buffer, schema: z.ZodType<T>, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new JobStreamError('MFP_JOB_ERR_BAD_RECORD', `${what} record is not JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new JobStreamError(
      'MFP_JOB_ERR_BAD_RECORD',
      `${what} record: ${issue?.path.join('.') || '(record)'}: ${issue?.message}`,
    );
  }
  return parsed.data;
}

/**
 * Incremental decoder of cloud → gateway records. Holds at most one header and one
 * control payload; DATA payloads are handed on in the pieces they arrive in.
 */
export class JobRecordDecoder {
  private head = Buffer.alloc(0);
  private type = 0;
  private remaining = 0;
  private control: Buffer[] = [];

  /** Decodes a chunk; throws JobStreamError on a malformed record. */
  push(chunk: Buffer): JobRecord[] {
    const out: JobRecord[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining === 0 && this.type === 0) {
        const need = JOB_RECORD_HEADER_BYTES - this.head.length;
        this.head = Buffer.concat([this.head, chunk.subarray(at, at + need)]);
        at += Math.min(need, chunk.length - at);
        if (this.head.length < JOB_RECORD_HEADER_BYTES) break;
        this.type = this.head.readUInt8(0);
        this.remaining = this.head.readUInt32BE(1);
        this.head = Buffer.alloc(0);
        this.checkHeader();
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - at);
      const piece = chunk.subarray(at, at + take);
      at += take;
      this.remaining -= take;
      if (this.type === JobRecordType.DATA) {
        out.push({ type: 'data', payload: piece });
      } else {
        this.control.push(piece);
      }
      if (this.remaining === 0) {
        if (this.type !== JobRecordType.DATA) out.push(this.finishControl());
        this.type = 0;
      }
    }
    return out;
  }

  /** True when the stream may end here (not inside a record). */
  get atBoundary(): boolean {
    return this.type === 0 && this.head.length === 0;
  }

  private checkHeader(): void {
    const { type, remaining } = this;
    if (type === JobRecordType.DATA) {
      if (remaining < 1 || remaining > MAX_JOB_RECORD_PAYLOAD) {
        throw new JobStreamError('MFP_JOB_ERR_BAD_RECORD', `DATA record of ${remaining} bytes`);
      }
      return;
    }
    if (type === JobRecordType.CONNECT || type === JobRecordType.END || type === JobRecordType.INTERRUPT) {
      if (remaining < 2 || remaining > MAX_CONTROL_PAYLOAD) {
        throw new JobStreamError('MFP_JOB_ERR_BAD_RECORD', `control record of ${remaining} bytes`);
      }
      return;
    }
    throw new JobStreamError('MFP_JOB_ERR_BAD_RECORD', `unknown record type ${type}`);
  }

  private finishControl(): JobRecord {
    const payload = Buffer.concat(this.control);
    this.control = [];
    if (this.type === JobRecordType.CONNECT) {
      return { type: 'connect', command: parseJson(payload, connectCommandSchema, 'CONNECT') };
    }
    if (this.type === JobRecordType.INTERRUPT) {
      return { type: 'interrupt', interrupt: parseJson(payload, interruptRecordSchema, 'INTERRUPT') };
    }
    return { type: 'end', end: parseJson(payload, endRecordSchema, 'END') };
  }
}

/** Incremental decoder of gateway → cloud event lines. */
export class JobEventDecoder {
  private partial = '';

  push(chunk: Buffer): JobEvent[] {
    const text = this.partial + chunk.toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    if (this.partial.length > MAX_JOB_EVENT_LINE) {
      throw new JobStreamError('MFP_JOB_ERR_BAD_EVENT', `event line over ${MAX_JOB_EVENT_LINE} bytes`);
    }
    const out: JobEvent[] = [];
    for (const line of lines) {
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new JobStreamError('MFP_JOB_ERR_BAD_EVENT', 'job event is not JSON');
      }
      const parsed = jobEventSchema.safeParse(value);
      if (!parsed.success) {
        throw new JobStreamError('MFP_JOB_ERR_BAD_EVENT', `job event: ${parsed.error.issues[0]?.message}`);
      }
      out.push(parsed.data);
    }
    return out;
  }
}
