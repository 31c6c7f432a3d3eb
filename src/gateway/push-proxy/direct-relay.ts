import type { Agent, ClientRequest, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os';
import { pipeline } from 'node:stream/promises';
import type { Clock } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import { processBufferReclaimer } from '../../runtime/buffer-reclaimer.ts';
import { http, https } from '../../runtime/node-http.ts';

/** The requests of a device's direct connection, pull variant (docs/jobs.md), as the relay takes them. */
const DIRECT_PATH = /^\/direct\/v1\/jobs\/([^/]+)\/(connect|document|complete)$/;
type DirectRequestKind = 'connect' | 'document' | 'complete';
/** Response headers the device needs; nothing else of the cloud's reaches the LAN. */
const PASSED_BACK = ['content-type', 'content-length', 'x-job-size'] as const;

/** Bounds of the relay; safe defaults, options for tests. */
export interface DirectRelayLimits {
  /** Handed-over jobs remembered at once; the oldest is forgotten first. */
  maxJobs: number;
  /** How long after its handover a job may use the relay. */
  ttlMs: number;
  /** A relayed request with no byte either way for this long is abandoned (the device resumes). */
  idleTimeoutMs: number;
  /** Largest outcome report (POST …/complete) passed to the cloud. */
  maxReportBytes: number;
}

export const DEFAULT_RELAY_LIMITS: DirectRelayLimits = {
  maxJobs: 64,
  ttlMs: 60 * 60_000,
  idleTimeoutMs: 60_000,
  maxReportBytes: 16 * 1024,
};

export interface DirectRelayOptions {
  /** The listener's address (its `listen.host`), and `relayUrl` if configured. */
  listenHost: string;
  relayUrl: string | undefined;
  /** The agent for a request to the cloud (the gateway's HTTP proxy), if one applies. */
  agentFor: (target: URL) => Agent | undefined;
  /** CA of the cloud's TLS certificate (cloud.caFile); the system's roots otherwise. */
  ca: Buffer | undefined;
  clock: Clock;
  logger: Logger;
  limits?: Partial<DirectRelayLimits>;
  /** The host's interfaces (injected by tests). */
  interfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
}

/** Where the device is to connect instead of the cloud, or why the relay cannot take the job. */
export type RelayRoute = { url: string } | { refused: string };

/** The relay for the status page. */
export interface DirectRelayStatus {
  /** Base URL devices are given, once the listener is up. */
  url: string | null;
  /** Handed-over jobs the relay serves now. */
  jobs: number;
  requests: number;
  failed: number;
  bytesToDevice: number;
  bytesToCloud: number;
}

interface RelayedJob {
  cloudUrl: string;
  expiresAt: number;
}

/**
 * The LAN relay of switched jobs' direct connections (docs/push-proxy.md), for a site that
 * lets only the gateway out: the device is told to connect here, and its requests — saying
 * it is connected, fetching the rest of the document, reporting the outcome — are passed to the
 * cloud with their bearer token untouched, streamed with backpressure. Only jobs this gateway handed over,
 * for a while; anything else is not found.
 */
export class DirectRelay {
  private readonly options: DirectRelayOptions;
  private readonly limits: DirectRelayLimits;
  private readonly log: Logger;
  /** By job id, oldest handover first. */
  private readonly jobs = new Map<string, RelayedJob>();
  private port: number | null = null;
  private readonly totals = { requests: 0, failed: 0, bytesToDevice: 0, bytesToCloud: 0 };

  constructor(options: DirectRelayOptions) {
    this.options = options;
    this.limits = { ...DEFAULT_RELAY_LIMITS, ...options.limits };
    this.log = options.logger.child({ part: 'direct-relay' });
  }

  /** The listener is up on this port (null: down). */
  listening(port: number | null): void {
    this.port = port;
  }

  /** Remembers a job being handed over and says which base URL to give its device. */
  route(jobId: string, cloudUrl: string): RelayRoute {
    const base = this.baseUrl();
    if ('refused' in base) return base;
    const now = this.options.clock.now();
    this.sweep(now);
    this.jobs.delete(jobId);
    while (this.jobs.size >= this.limits.maxJobs) {
      const oldest = this.jobs.keys().next().value as string;
      this.jobs.delete(oldest);
    }
    this.jobs.set(jobId, { cloudUrl: cloudUrl.replace(/\/+$/, ''), expiresAt: now + this.limits.ttlMs });
    this.log.info({ jobId, relay: base.url, cloud: cloudUrl }, 'relaying the direct connection of a job');
    return base;
  }

  /** Takes a request on the LAN listener if its path is a direct job's; false leaves it to the caller. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    // Split by hand, not `new URL(req.url, base)`: a target such as `//` or `//x:y` is a
    // scheme-relative URL to it and throws (issue 13, finding 6); any target has a path and a query.
    const requested = req.url ?? '/';
    const q = requested.indexOf('?');
    const pathname = q === -1 ? requested : requested.slice(0, q);
    const search = new URLSearchParams(q === -1 ? '' : requested.slice(q + 1));
    const match = DIRECT_PATH.exec(pathname);
    if (!match) return false;
    const jobId = safeDecode(match[1] as string);
    const kind = match[2] as DirectRequestKind;
    const job = jobId === undefined ? undefined : this.lookup(jobId);
    const method = kind === 'document' ? 'GET' : 'POST';
    if (jobId === undefined || !job || req.method !== method) {
      this.log.warn(
        {
          jobId: jobId?.slice(0, 128) ?? null,
          request: kind,
          method: req.method,
          from: req.socket.remoteAddress,
        },
        'direct relay refused: no job handed over by this gateway there',
      );
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return true;
    }
    const offset = search.get('offset');
    const query = kind === 'document' && offset !== null ? `?offset=${encodeURIComponent(offset)}` : '';
    const target = new URL(`${job.cloudUrl}/direct/v1/jobs/${encodeURIComponent(jobId)}/${kind}${query}`);
    this.relay(req, res, target, {
      jobId,
      request: kind,
      offset: offset !== null && /^\d{1,15}$/.test(offset) ? Number(offset) : null,
    });
    return true;
  }

  status(): DirectRelayStatus {
    this.sweep(this.options.clock.now());
    const base = this.baseUrl();
    return { url: 'url' in base ? base.url : null, jobs: this.jobs.size, ...this.totals };
  }

  private lookup(jobId: string): RelayedJob | undefined {
    this.sweep(this.options.clock.now());
    return this.jobs.get(jobId);
  }

  private sweep(now: number): void {
    for (const [id, job] of this.jobs) if (job.expiresAt <= now) this.jobs.delete(id);
  }

  /** The base URL devices reach the listener at: relayUrl, the listen address, or the box's only LAN address. */
  private baseUrl(): RelayRoute {
    if (this.port === null) {
      return { refused: 'the push proxy listener is not up (see the gateway log), so it cannot relay' };
    }
    const { relayUrl, listenHost } = this.options;
    if (relayUrl) return { url: relayUrl.replace(/\/+$/, '') };
    const host = isWildcard(listenHost)
      ? onlyLanAddress(this.options.interfaces ?? networkInterfaces)
      : listenHost;
    if (!host) {
      return {
        refused: `the push proxy listens on ${listenHost} and the box has no single LAN address: set pushProxy.relayUrl to the URL devices reach it at`,
      };
    }
    return { url: `http://${isIP(host) === 6 ? `[${host}]` : host}:${this.port}` };
  }

  private relay(
    req: IncomingMessage,
    res: ServerResponse,
    target: URL,
    what: { jobId: string; request: DirectRequestKind; offset: number | null },
  ): void {
    const { clock, ca } = this.options;
    const { idleTimeoutMs, maxReportBytes } = this.limits;
    const started = clock.now();
    const counted = { toDevice: 0, toCloud: 0 };
    let settled = false;
    const done = (status: number, err?: Error) => {
      if (settled) return;
      settled = true;
      this.totals.requests++;
      this.totals.bytesToDevice += counted.toDevice;
      this.totals.bytesToCloud += counted.toCloud;
      if (err) this.totals.failed++;
      const fields = {
        ...what,
        status,
        bytesToDevice: counted.toDevice,
        bytesToCloud: counted.toCloud,
        ms: clock.now() - started,
        ...(err ? { err: err.message } : {}),
      };
      if (err) this.log.warn(fields, 'direct request relay failed');
      else this.log.info(fields, 'direct request relayed');
    };
    const declared = Number(req.headers['content-length'] ?? 0);
    if (what.request !== 'document' && declared > maxReportBytes) {
      res
        .writeHead(413, { 'content-type': 'text/plain' })
        .end(`a report is at most ${maxReportBytes} bytes\n`);
      done(413, new Error(`report of ${declared} bytes`));
      return;
    }
    const headers: OutgoingHttpHeaders = {};
    // The bearer token is the job's one-time token: passed on untouched, checked by the cloud alone.
    if (req.headers.authorization) headers.authorization = req.headers.authorization;
    if (what.request !== 'document') {
      headers['content-type'] = req.headers['content-type'] ?? 'application/json';
      if (req.headers['content-length']) headers['content-length'] = req.headers['content-length'];
    }
    const send = target.protocol === 'https:' ? https.request : http.request;
    const agent = this.options.agentFor(target);
    const upstream: ClientRequest = send(target, {
      method: what.request === 'document' ? 'GET' : 'POST',
      headers,
      ...(agent ? { agent } : {}),
      ...(ca ? { ca } : {}),
      timeout: idleTimeoutMs,
    });
    upstream.on('timeout', () =>
      upstream.destroy(new Error(`no word from the cloud for ${idleTimeoutMs} ms`)),
    );
    // The device went away: so does its request to the cloud.
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy(new Error('the device closed its connection'));
    });
    let status: number | undefined;
    upstream.on('error', (err) => {
      if (!res.headersSent) {
        res
          .writeHead(502, { 'content-type': 'text/plain' })
          .end(`the gateway cannot reach the cloud: ${err.message}\n`);
      } else {
        res.destroy(err);
      }
      done(status ?? 502, err);
    });
    upstream.once('response', (answer) => {
      const code = answer.statusCode ?? 502;
      status = code;
      const passed: Record<string, string | string[]> = {};
      for (const name of PASSED_BACK) {
        const value = answer.headers[name];
        if (value !== undefined) passed[name] = value;
      }
      res.writeHead(code, passed);
      const reclaimer = processBufferReclaimer();
      answer.on('data', (chunk: Buffer) => {
        counted.toDevice += chunk.length;
        reclaimer.relayed(chunk.length);
      });
      // pipeline: the device's pace pauses the cloud's response; an error on either side ends both.
      pipeline(answer, res).then(
        () => done(code),
        (err: Error) => done(code, err),
      );
    });
    if (what.request === 'document') {
      upstream.end();
      return;
    }
    req.on('data', (chunk: Buffer) => {
      counted.toCloud += chunk.length;
      if (counted.toCloud > maxReportBytes)
        upstream.destroy(new Error(`report over ${maxReportBytes} bytes`));
    });
    pipeline(req, upstream).catch(() => {}); // failures surface on upstream's 'error'
  }
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** The host's one non-internal IPv4 address (a one-NIC box), or undefined when there is none or several. */
function onlyLanAddress(interfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]>): string | undefined {
  const found = Object.values(interfaces())
    .flatMap((list) => list ?? [])
    .filter((i) => i.family === 'IPv4' && !i.internal)
    .map((i) => i.address);
  return found.length === 1 ? found[0] : undefined;
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
