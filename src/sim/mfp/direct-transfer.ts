import { setTimeout as sleep } from 'node:timers/promises';
import { type RawData, WebSocket } from 'ws';
import { Backoff } from '../../retry/backoff.ts';
import {
  completeUrl,
  connectUrl,
  DIRECT_ATTEMPTS,
  DIRECT_BACKOFF_INITIAL_MS,
  DIRECT_BACKOFF_MAX_MS,
  DIRECT_STALL_MS,
  DIRECT_STREAM_MAX_MESSAGE,
  type DirectRequest,
  documentUrl,
  isRetryableStatus,
  parseJobSize,
  streamUrl,
} from './direct-handover.ts';
import type { JobSink, StoredDocument } from './pjl-device-session.ts';

/** A job the device takes over its own connection to the cloud, as its listeners and log see it. */
export interface DirectTransfer {
  name: string;
  /** The cloud's base URL from the CONNECT. */
  url: string;
  /** Whether the cloud streams the rest over a WebSocket (push) or the device fetches it (pull). */
  mode: 'push' | 'pull';
  /**
   * connected: the connection is up while the tunnel still carries the job; connect-failed: it
   * could not be made (the job goes on over the tunnel); continuing: interrupted, the device takes
   * the rest from `offset`; complete / failed: settled.
   */
  outcome: 'connected' | 'connect-failed' | 'continuing' | 'complete' | 'failed';
  /** Document bytes the device held when it took the job over: its own count, which it trusts. */
  offset: number;
  /** Document bytes held now: the whole document once complete. */
  bytes: number;
  /** Connections made (push) or requests made (pull) for the current step. */
  attempts: number;
  /** Set when complete: the stored document's pages and SHA-256 (hex). */
  pages?: number;
  sha256?: string;
  /** Set when failed or connect-failed: why (a failure is also reported to the cloud). */
  error?: string;
  /** Whether the cloud accepted the outcome report. */
  reported: boolean;
}

export interface DirectTransferContext {
  request: DirectRequest;
  /** Aborts every request and wait (the device is shutting down). */
  signal: AbortSignal;
  /** Resolves when the printer can finish jobs: the cloud hears "complete" once the pages are out. */
  whenPrintable(): Promise<void>;
  /** Told when the connection is up (or cannot be made), when the device takes the job over, and when it settles. */
  onProgress(transfer: DirectTransfer): void;
}

/** One attempt's verdict: done, worth another try, or final. */
type Step<T> =
  | { kind: 'done'; value: T }
  | { kind: 'retry'; reason: string }
  | { kind: 'final'; reason: string };

type Settled<T> = { ok: true; value: T; attempts: number } | { ok: false; reason: string; attempts: number };

/** The push variant's socket, kept open from the connection's establishment, and after the cloud's `end` for the report. */
interface StreamLine {
  socket: WebSocket | undefined;
}

/**
 * The device's own connection to the cloud for one job (seed 001's 7G), made while the job's
 * tunnel still carries it (make-before-break): push opens the WebSocket and keeps it, pull tells
 * the cloud it is connected. On the interrupt (7L) the device takes the job over with what it
 * holds; the connection carries the rest.
 */
export class DirectConnection {
  /** Resolves true once the connection is up, false when it cannot be made. */
  readonly established: Promise<boolean>;
  private readonly ctx: DirectTransferContext;
  private readonly line: StreamLine = { socket: undefined };
  private readonly cancelled = new AbortController();

  constructor(ctx: DirectTransferContext) {
    this.ctx = { ...ctx, signal: AbortSignal.any([ctx.signal, this.cancelled.signal]) };
    this.established = this.connect();
  }

  /** The job ended over the tunnel before the interrupt: the connection is not needed. */
  cancel(): void {
    this.cancelled.abort();
    this.line.socket?.terminate();
    this.line.socket = undefined;
  }

  /** Takes the job over (after the interrupt) and runs it to its end; never throws. */
  takeOver(sink: JobSink): Promise<DirectTransfer> {
    return runDirectTransfer(this.ctx, sink, this.line);
  }

  private async connect(): Promise<boolean> {
    const { request } = this.ctx;
    const made = await withRetries(this.ctx, () =>
      request.mode === 'push' ? openFirst(this.ctx, this.line) : postConnect(this.ctx),
    );
    this.ctx.onProgress({
      name: request.name,
      url: request.url,
      mode: request.mode,
      outcome: made.ok ? 'connected' : 'connect-failed',
      offset: 0,
      bytes: 0,
      attempts: made.attempts,
      ...(made.ok ? {} : { error: made.reason }),
      reported: false,
    });
    return made.ok;
  }
}

/**
 * Receives (push) or fetches (pull) the rest of a handed-over job from the cloud into its sink,
 * resuming a transfer that ends early from the bytes actually held, then stores the job and
 * reports the outcome. Never throws: a failure discards the partial document (the cloud may send
 * the job again; a half-printed document is worse than none) and is reported to the cloud.
 */
async function runDirectTransfer(
  ctx: DirectTransferContext,
  sink: JobSink,
  line: StreamLine,
): Promise<DirectTransfer> {
  const { request } = ctx;
  const transfer: DirectTransfer = {
    name: request.name,
    url: request.url,
    mode: request.mode,
    outcome: 'continuing',
    offset: sink.bytes,
    bytes: sink.bytes,
    attempts: 0,
    reported: false,
  };
  ctx.onProgress({ ...transfer });
  // Every response must name the same document size: a resumed document that changed would be a patchwork.
  const size = { expected: undefined as number | undefined };
  const fetched = await withRetries(ctx, () =>
    request.mode === 'push' ? streamFrom(ctx, sink, line) : fetchFrom(ctx, sink, size),
  );
  transfer.attempts = fetched.attempts;
  const stored = fetched.ok ? await store(sink) : new Error(fetched.reason);
  let report: Record<string, unknown>;
  if (stored instanceof Error) {
    transfer.outcome = 'failed';
    transfer.bytes = sink.bytes;
    transfer.error = stored.message;
    await sink.discard().catch(() => {});
    report = { error: stored.message };
  } else {
    transfer.outcome = 'complete';
    transfer.bytes = stored.bytes;
    transfer.pages = stored.pages;
    transfer.sha256 = stored.sha256;
    await abortable(ctx.whenPrintable(), ctx.signal);
    report = { bytes: stored.bytes, sha256: stored.sha256, pages: stored.pages };
  }
  if (!ctx.signal.aborted) {
    const message = JSON.stringify({ type: 'error' in report ? 'error' : 'complete', ...report });
    transfer.reported = (
      await withRetries(ctx, () =>
        request.mode === 'push' ? reportOverStream(ctx, sink, line, message) : postOutcome(ctx, report),
      )
    ).ok;
  }
  line.socket?.terminate();
  ctx.onProgress({ ...transfer });
  return transfer;
}

async function store(sink: JobSink): Promise<StoredDocument | Error> {
  try {
    return await sink.finish();
  } catch (err) {
    return new Error(`cannot store the document: ${(err as Error).message}`);
  }
}

/** One GET of the document from the bytes held on, appended to the sink as it arrives. */
async function fetchFrom(
  ctx: DirectTransferContext,
  sink: JobSink,
  known: { expected: number | undefined },
): Promise<Step<void>> {
  const { request } = ctx;
  const from = sink.bytes;
  const stall = new StallGuard(ctx.signal);
  try {
    const res = await fetch(documentUrl(request, from), {
      headers: { authorization: `Bearer ${request.token}` },
      signal: stall.signal,
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      return statusStep(res.status, 'GET document');
    }
    const size = parseJobSize(res.headers.get('x-job-size'));
    if (size === undefined || size < from || (known.expected !== undefined && size !== known.expected)) {
      await res.body?.cancel();
      const was = known.expected === undefined ? '' : ` (it said ${known.expected} before)`;
      return {
        kind: 'final',
        reason: `cloud sent x-job-size "${res.headers.get('x-job-size')}" for offset ${from}${was}`,
      };
    }
    known.expected = size;
    for await (const chunk of res.body ?? []) {
      stall.touch();
      if (sink.bytes + chunk.length > size) {
        return { kind: 'final', reason: `cloud sent more than the x-job-size of ${size} bytes` };
      }
      try {
        await sink.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (err) {
        return { kind: 'final', reason: `cannot store the document: ${(err as Error).message}` };
      }
    }
    if (sink.bytes === size) return { kind: 'done', value: undefined };
    return { kind: 'retry', reason: `response ended at ${sink.bytes} of ${size} bytes` };
  } catch (err) {
    return { kind: 'retry', reason: stall.stalled ? `no data for ${DIRECT_STALL_MS} ms` : describe(err) };
  } finally {
    stall.clear();
  }
}

/** One POST of the job's outcome to the cloud. */
function postOutcome(ctx: DirectTransferContext, body: Record<string, unknown>): Promise<Step<void>> {
  return post(ctx, completeUrl(ctx.request), body, 'POST complete');
}

/** The pull variant's connection establishment: the cloud then interrupts the job's tunnel. */
function postConnect(ctx: DirectTransferContext): Promise<Step<void>> {
  return post(ctx, connectUrl(ctx.request), {}, 'POST connect');
}

async function post(
  ctx: DirectTransferContext,
  url: string,
  body: Record<string, unknown>,
  what: string,
): Promise<Step<void>> {
  const stall = new StallGuard(ctx.signal);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.request.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: stall.signal,
    });
    await res.body?.cancel();
    return res.ok ? { kind: 'done', value: undefined } : statusStep(res.status, what);
  } catch (err) {
    return { kind: 'retry', reason: describe(err) };
  } finally {
    stall.clear();
  }
}

/** The push variant's connection establishment: opens the WebSocket and keeps it for the takeover. */
function openFirst(ctx: DirectTransferContext, line: StreamLine): Promise<Step<void>> {
  const ws = openStream(ctx);
  return new Promise((resolve) => {
    let settled = false;
    const settle = (step: Step<void>) => {
      if (settled) return;
      settled = true;
      ctx.signal.removeEventListener('abort', stopped);
      ws.removeAllListeners();
      ws.on('error', () => {}); // an idle kept socket that fails is replaced at the takeover
      if (step.kind === 'done') line.socket = ws;
      else ws.terminate();
      resolve(step);
    };
    const stopped = () => settle({ kind: 'final', reason: 'the device stopped' });
    ctx.signal.addEventListener('abort', stopped);
    ws.on('open', () => settle({ kind: 'done', value: undefined }));
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      settle(statusStep(res.statusCode ?? 0, 'stream upgrade'));
    });
    ws.on('error', (err) => settle({ kind: 'retry', reason: err.message }));
    ws.on('close', (code) => settle({ kind: 'retry', reason: `stream closed (${code}) before it opened` }));
  });
}

/**
 * One WebSocket connection of the push variant: the one kept from the connection's establishment
 * if it is still open, else a new one. The device says what it holds; binary messages go into the
 * sink in order (the socket pauses while the sink is behind) until the cloud's `end`, whose size
 * the device checks (the cloud checks the hash the device reports). The socket stays open for
 * the report.
 */
function streamFrom(ctx: DirectTransferContext, sink: JobSink, line: StreamLine): Promise<Step<void>> {
  const stall = new StallGuard(ctx.signal);
  const ws = takeSocket(ctx, line);
  let writing = Promise.resolve();
  let pending = 0;
  let failed: string | undefined;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (step: Step<void>, keep = false) => {
      if (settled) return;
      settled = true;
      stall.clear();
      if (keep) line.socket = ws;
      else ws.terminate();
      resolve(step);
    };
    stall.signal.addEventListener('abort', () =>
      settle({
        kind: 'retry',
        reason: stall.stalled ? `no data for ${DIRECT_STALL_MS} ms` : 'the device stopped',
      }),
    );
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      settle(statusStep(res.statusCode ?? 0, 'stream upgrade'));
    });
    ws.on('error', (err) => settle({ kind: 'retry', reason: err.message }));
    ws.on('close', (code) =>
      settle({ kind: 'retry', reason: `stream closed (${code}) at ${sink.bytes} bytes` }),
    );
    ws.on('message', (data, isBinary) => {
      stall.touch();
      if (settled) return;
      if (isBinary) {
        const chunk = toBuffer(data);
        if (++pending === 1) ws.pause();
        writing = writing.then(async () => {
          try {
            if (failed === undefined) await sink.write(chunk);
          } catch (err) {
            failed = `cannot store the document: ${(err as Error).message}`;
          }
          if (--pending === 0 && !settled) ws.resume();
        });
        return;
      }
      const end = parseEnd(data);
      void writing.then(() => {
        if (failed !== undefined) settle({ kind: 'final', reason: failed });
        else if (end instanceof Error) settle({ kind: 'final', reason: end.message });
        else if (sink.bytes !== end.size) {
          settle({ kind: 'final', reason: `cloud ended the stream at ${sink.bytes} bytes of ${end.size}` });
        } else settle({ kind: 'done', value: undefined }, true);
      });
    });
    whenOpen(ws, () => ws.send(holding(sink)));
  });
}

/**
 * Sends the job's outcome over the stream still open after `end`, or over a new connection (after
 * saying what it holds: the cloud then sends `end` at once), and waits for `result`.
 */
function reportOverStream(
  ctx: DirectTransferContext,
  sink: JobSink,
  line: StreamLine,
  message: string,
): Promise<Step<void>> {
  const kept = line.socket?.readyState === WebSocket.OPEN;
  const ws = takeSocket(ctx, line);
  const stall = new StallGuard(ctx.signal);
  return new Promise((resolve) => {
    let settled = false;
    const settle = (step: Step<void>) => {
      if (settled) return;
      settled = true;
      stall.clear();
      ws.terminate();
      resolve(step);
    };
    stall.signal.addEventListener('abort', () =>
      settle({ kind: 'retry', reason: 'no result from the cloud' }),
    );
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      settle(statusStep(res.statusCode ?? 0, 'stream upgrade'));
    });
    ws.on('error', (err) => settle({ kind: 'retry', reason: err.message }));
    ws.on('close', (code, reason) => {
      // 1008: the cloud refused the report itself; sending it again changes nothing.
      const why = `stream closed (${code}${reason.length > 0 ? ` ${reason.toString()}` : ''}) before the result`;
      settle({ kind: code === 1008 ? 'final' : 'retry', reason: why });
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = toBuffer(data).toString('utf8');
      if (text.includes('"result"')) settle({ kind: 'done', value: undefined });
    });
    whenOpen(ws, () => {
      if (!kept) ws.send(holding(sink));
      ws.send(message);
    });
  });
}

/** The socket kept open for this job (its listeners reset), or a new one. */
function takeSocket(ctx: DirectTransferContext, line: StreamLine): WebSocket {
  const kept = line.socket;
  line.socket = undefined;
  if (kept?.readyState === WebSocket.OPEN) {
    kept.removeAllListeners();
    return kept;
  }
  kept?.terminate();
  return openStream(ctx);
}

function whenOpen(ws: WebSocket, fn: () => void): void {
  if (ws.readyState === WebSocket.OPEN) fn();
  else ws.once('open', fn);
}

/** The device's first word on a connection once it has taken the job over: the cloud streams from there. */
function holding(sink: JobSink): string {
  return JSON.stringify({ type: 'holding', offset: sink.bytes });
}

function openStream(ctx: DirectTransferContext): WebSocket {
  return new WebSocket(streamUrl(ctx.request), {
    headers: { authorization: `Bearer ${ctx.request.token}` },
    maxPayload: DIRECT_STREAM_MAX_MESSAGE,
  });
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

/** The cloud's `end` message, checked: the only text message before the report. */
function parseEnd(data: RawData): { size: number; sha256: string } | Error {
  let value: { type?: unknown; size?: unknown; sha256?: unknown };
  try {
    value = JSON.parse(toBuffer(data).toString('utf8'));
  } catch {
    return new Error('cloud sent a stream message that is not JSON');
  }
  if (value?.type !== 'end' || !Number.isSafeInteger(value.size) || typeof value.sha256 !== 'string') {
    return new Error('cloud sent a stream message other than {"type":"end","size":n,"sha256":"..."}');
  }
  return { size: value.size as number, sha256: value.sha256 };
}

/** Runs attempt until it is done or final, at most DIRECT_ATTEMPTS times with a capped backoff between. */
async function withRetries<T>(
  ctx: Pick<DirectTransferContext, 'signal'>,
  attempt: () => Promise<Step<T>>,
): Promise<Settled<T>> {
  const backoff = new Backoff({ initialMs: DIRECT_BACKOFF_INITIAL_MS, maxMs: DIRECT_BACKOFF_MAX_MS });
  let reason = '';
  for (let n = 1; n <= DIRECT_ATTEMPTS; n++) {
    if (ctx.signal.aborted) return { ok: false, reason: 'the device stopped', attempts: n - 1 };
    const step = await attempt();
    if (step.kind === 'done') return { ok: true, value: step.value, attempts: n };
    if (step.kind === 'final') return { ok: false, reason: step.reason, attempts: n };
    reason = step.reason;
    if (n < DIRECT_ATTEMPTS) await sleep(backoff.next(), undefined, { signal: ctx.signal }).catch(() => {});
  }
  return {
    ok: false,
    reason: `gave up after ${DIRECT_ATTEMPTS} attempts: ${reason}`,
    attempts: DIRECT_ATTEMPTS,
  };
}

function statusStep(status: number, what: string): Step<never> {
  const reason = `${what} answered HTTP ${status}`;
  return isRetryableStatus(status) ? { kind: 'retry', reason } : { kind: 'final', reason };
}

/** Aborts a request that brings no byte for DIRECT_STALL_MS, or when the device stops. */
class StallGuard {
  readonly signal: AbortSignal;
  private readonly stall = new AbortController();
  private timer: NodeJS.Timeout;

  constructor(outer: AbortSignal) {
    this.signal = AbortSignal.any([outer, this.stall.signal]);
    this.timer = this.arm();
  }

  get stalled(): boolean {
    return this.stall.signal.aborted;
  }

  /** Data arrived: the stall clock starts again. */
  touch(): void {
    clearTimeout(this.timer);
    this.timer = this.arm();
  }

  clear(): void {
    clearTimeout(this.timer);
  }

  private arm(): NodeJS.Timeout {
    return setTimeout(() => this.stall.abort(), DIRECT_STALL_MS);
  }
}

/** fetch's errors say "fetch failed" or "terminated"; the reason is in their cause. */
function describe(err: unknown): string {
  const e = err as Error & { cause?: { message?: string } };
  return e.cause?.message ? `${e.message}: ${e.cause.message}` : e.message;
}

function abortable(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done);
    void promise.then(done);
  });
}

/** One line for a device log (syslog): what happened, naming job, offset and bytes. */
export function describeTransfer(t: DirectTransfer): string {
  const job = `job="${t.name}" offset=${t.offset} bytes=${t.bytes}`;
  switch (t.outcome) {
    case 'connected':
      return `direct connection up: job="${t.name}" url=${t.url} mode=${t.mode} attempts=${t.attempts}`;
    case 'connect-failed':
      return `direct connection failed, the job stays on the tunnel: job="${t.name}" url=${t.url} attempts=${t.attempts} error="${t.error}"`;
    case 'continuing':
      return `interrupted, continuing on the direct connection: ${job} mode=${t.mode}`;
    case 'complete':
      return `direct transfer complete: ${job} pages=${t.pages} sha256=${t.sha256} attempts=${t.attempts}`;
    case 'failed':
      return `direct transfer failed: ${job} attempts=${t.attempts} error="${t.error}"`;
  }
}
