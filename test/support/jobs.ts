import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { DatabaseSync } from 'node:sqlite';
import { type CloudHandle, startCloud, startFirewall, startGatewayProcess } from './chain.ts';
import { type CliProcess, eventually, startCli } from './cli-process.ts';

/** A job as GET /api/v1/jobs/{id} shows it (the fields tests look at). */
export interface JobView {
  id: string;
  state: string;
  size: number;
  sha256: string;
  bytes: { tunnel: number; direct: number };
  route: { route: 'tunnel' | 'direct'; offset: number; line?: string }[];
  error: string | null;
}

export const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
export const fileSha256 = (path: string): string => sha256(readFileSync(path));

/** POSTs a document as a job (streamed body, as a client would). */
export function postJob(
  cloud: CloudHandle,
  query: Record<string, string | number>,
  document: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: JobView & { message?: string } }> {
  const qs = new URLSearchParams(
    Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
  return new Promise((resolve, reject) => {
    const req = request(
      `http://127.0.0.1:${cloud.port}/api/v1/jobs?${qs}`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${cloud.apiToken}`,
          'content-type': 'application/octet-stream',
          'content-length': String(document.length),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(document);
  });
}

export const getJob = async (cloud: CloudHandle, id: string): Promise<JobView> =>
  (await cloud.api<JobView>(`/api/v1/jobs/${id}`)).body;

/** Waits for a job to reach one of the states. */
export function jobReaches(
  cloud: CloudHandle,
  id: string,
  states: string[],
  timeoutMs: number,
): Promise<JobView> {
  return eventually(
    () => getJob(cloud, id),
    (job) => states.includes(job.state),
    timeoutMs,
    `job ${id} to be ${states.join(' or ')}`,
    50,
  );
}

/** The gateway journal's tunnel records (read beside the running gateway: SQLite WAL). */
export function tunnelRecords(journalFile: string): {
  jobId: string;
  target: string;
  openedAt: number;
  closedAt: number;
  bytesToDevice: number;
  outcome: string;
  directUpAt: number | null;
}[] {
  const db = new DatabaseSync(journalFile, { readOnly: true });
  try {
    return (
      db
        .prepare(
          'SELECT job_id, target, opened_at, closed_at, bytes_to_device, outcome, direct_up_at FROM tunnels ORDER BY id',
        )
        .all() as {
        job_id: string;
        target: string;
        opened_at: number;
        closed_at: number;
        bytes_to_device: number;
        outcome: string;
        direct_up_at: number | null;
      }[]
    ).map((r) => ({
      jobId: r.job_id,
      target: r.target,
      openedAt: r.opened_at,
      closedAt: r.closed_at,
      bytesToDevice: r.bytes_to_device,
      outcome: r.outcome,
      directUpAt: r.direct_up_at,
    }));
  } finally {
    db.close();
  }
}

/** Starts `mfp-gateway sim mfp` on a free loopback port. */
export async function startSimMfp(
  spool: string,
  flags: string[] = [],
): Promise<{ proc: CliProcess; port: number }> {
  const proc = startCli(['sim', 'mfp', '--spool', spool, '--listen', '127.0.0.1:0', ...flags]);
  const ready = await proc.waitFor((l) => l.msg === 'sim mfp listening', 20_000, 'the sim MFP to listen');
  return { proc, port: ready.pjlPort as number };
}

/** The gateway journal's device log lines (job id and message). */
export function deviceLogs(journalFile: string): { jobId: string | null; message: string }[] {
  const db = new DatabaseSync(journalFile, { readOnly: true });
  try {
    return (
      db.prepare('SELECT job_id, message FROM device_logs ORDER BY id').all() as {
        job_id: string | null;
        message: string;
      }[]
    ).map((r) => ({ jobId: r.job_id, message: r.message }));
  } finally {
    db.close();
  }
}

/** Runs fn; when it fails, prints the processes' job and line log lines (what a reader needs to see why). */
export async function withJobLogs<T>(procs: Record<string, CliProcess>, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    for (const [name, proc] of Object.entries(procs)) {
      const lines = proc.lines.filter((l) =>
        /job|tunnel|switch|direct|hand|line|transfer|device|fault/i.test(String(l.msg)),
      );
      console.error(`--- ${name}\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
    }
    throw err;
  }
}

/** Resolves once the cloud sees a live push line of gateway gw1. */
export async function gatewayUp(cloud: CloudHandle): Promise<void> {
  await eventually(
    async () => (await cloud.api<{ connections: unknown[] }>('/api/v1/gateways/gw1')).body.connections,
    (lines) => lines.length > 0,
    20_000,
    'the gateway to connect',
  );
}

/**
 * A cloud and a gateway gw1 with these devices, connected directly (loopback): where every
 * job test starts. `track` stops both processes after the test.
 */
export async function startDeviceSite(
  dir: string,
  track: <T extends CliProcess>(proc: T) => T,
  site: {
    devices: unknown[];
    /** More gateway config beside `devices`. */
    gateway?: Record<string, unknown>;
    cloud?: Parameters<typeof startCloud>[1];
    /** The gateway's line to the cloud carries at most this many bytes/s each way (a sim firewall), e.g. "2m". */
    lineRate?: string;
  },
): Promise<{ cloud: CloudHandle; gw: CliProcess; firewall?: CliProcess }> {
  const cloud = await startCloud(dir, site.cloud);
  track(cloud.proc);
  // Devices' own connections go to the cloud's URL directly, around the slow line.
  const line = site.lineRate
    ? await startFirewall(cloud.port, '1h', 'rst', undefined, site.lineRate)
    : undefined;
  if (line) track(line.proc);
  const gw = track(
    startGatewayProcess(
      dir,
      { url: `ws://127.0.0.1:${line?.port ?? cloud.port}/push`, token: cloud.gatewayToken },
      { devices: site.devices, ...site.gateway },
    ),
  );
  await gatewayUp(cloud);
  return { cloud, gw, ...(line ? { firewall: line.proc } : {}) };
}
