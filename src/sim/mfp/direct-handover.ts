/**
 * The device's side of tunnel reduction (Konica Minolta's scheme), make-before-break: when the
 * cloud's tunnels through the gateway are saturated, the gateway passes on the
 * connection-establishment command `@PJL MFPGW CONNECT NAME=".." URL=".." TOKEN=".." [MODE=PUSH|PULL]`
 * in the middle of the job, whose document goes on; a direct-capable device connects to the cloud
 * itself meanwhile. On `@PJL MFPGW INTERRUPT NAME=".."` it stops taking the job from the channel
 * and gets the rest over its connection: a WebSocket the cloud streams it over (PUSH) or fetches
 * (PULL, the default). This module only decides; the network work is in direct-transfer.ts.
 */

/** A parsed MFPGW CONNECT: where job `name`'s direct connection goes, and how the rest comes. */
export interface DirectRequest {
  name: string;
  /** The cloud's base URL, http(s)://host:port, without a trailing slash. */
  url: string;
  /** One-time bearer token for this job's direct endpoints. */
  token: string;
  /** The cloud streams the rest over a WebSocket (push), or the device fetches it (pull). */
  mode: 'push' | 'pull';
}

/** A CONNECT the device cannot act on; the job is refused. */
export class DirectConnectError extends Error {
  readonly code = 'MFP_DIRECT_ERR_BAD_CONNECT';
}

/** Attempts to connect, to get the rest of a document, and to report its outcome, each, before giving up. */
export const DIRECT_ATTEMPTS = 5;
/** Backoff between attempts: full jitter under a ceiling that doubles from the first to the cap. */
export const DIRECT_BACKOFF_INITIAL_MS = 100;
export const DIRECT_BACKOFF_MAX_MS = 2_000;
/** A response that brings no byte for this long is abandoned and resumed, like a dropped one. */
export const DIRECT_STALL_MS = 30_000;
/** Largest WebSocket message the device accepts from the cloud's stream (it sends 64 KiB pieces). */
export const DIRECT_STREAM_MAX_MESSAGE = 1024 * 1024;

/** Parses the parameters of an MFPGW CONNECT line (everything after `@PJL MFPGW CONNECT`). */
export function parseDirectConnect(params: string): DirectRequest | DirectConnectError {
  const fields = new Map<string, string>();
  for (const m of params.matchAll(/(\w+)\s*=\s*(?:"([^"]*)"|(\S+))/g)) {
    fields.set((m[1] as string).toUpperCase(), m[2] ?? m[3] ?? '');
  }
  const name = fields.get('NAME');
  const url = fields.get('URL');
  const token = fields.get('TOKEN');
  const mode = (fields.get('MODE') ?? 'PULL').toUpperCase();
  if (!name || !url || !token) return new DirectConnectError('MFPGW CONNECT needs NAME, URL and TOKEN');
  if (mode !== 'PUSH' && mode !== 'PULL') {
    return new DirectConnectError(`MFPGW CONNECT MODE must be PUSH or PULL, got "${mode}"`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return new DirectConnectError(`MFPGW CONNECT URL "${url}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return new DirectConnectError(`MFPGW CONNECT URL must be http or https, got "${parsed.protocol}"`);
  }
  return { name, url: url.replace(/\/+$/, ''), token, mode: mode === 'PUSH' ? 'push' : 'pull' };
}

/** Where the rest of the document is, from byte `from` on. */
export function documentUrl(request: DirectRequest, from: number): string {
  return `${request.url}/direct/v1/jobs/${encodeURIComponent(request.name)}/document?offset=${from}`;
}

/** The WebSocket the cloud streams the rest over (http → ws, https → wss). */
export function streamUrl(request: DirectRequest): string {
  const base = request.url.replace(/^http/, 'ws');
  return `${base}/direct/v1/jobs/${encodeURIComponent(request.name)}/stream`;
}

/** Where the pull variant says its connection is up. */
export function connectUrl(request: DirectRequest): string {
  return `${request.url}/direct/v1/jobs/${encodeURIComponent(request.name)}/connect`;
}

/** Where the device reports the job's outcome. */
export function completeUrl(request: DirectRequest): string {
  return `${request.url}/direct/v1/jobs/${encodeURIComponent(request.name)}/complete`;
}

/** Whether an HTTP status other than success is worth another attempt (timeouts, throttling, server errors). */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** The whole document's size from `x-job-size`; undefined when absent or not a byte count. */
export function parseJobSize(header: string | null): number | undefined {
  return header !== null && /^\d{1,15}$/.test(header.trim()) ? Number(header.trim()) : undefined;
}
