import { readFile } from 'node:fs/promises';
import { freemem, loadavg, release, totalmem, uptime } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import { stringify } from 'yaml';
import { buildInfo } from '../../version.ts';
import type { LogRing } from './log-ring.ts';

/** The crash log the unit keeps in the state directory (board/crash-log.sh). */
const CRASH_LOG = 'crash.log';

/** What goes into a diagnostics bundle. */
export interface DiagnosticsSources {
  gatewayId: string;
  stateDir: string;
  now: number;
  /** The effective config, secrets already masked. */
  maskedConfig: unknown;
  /** The page's status snapshot (GET /api/status). */
  status: unknown;
  logs: LogRing;
  /** Prometheus text of /metrics. */
  metrics: string;
}

/** The bundle's file name: the gateway and the time, e.g. mfp-gateway-office-1-20261206T204501Z. */
export function diagnosticsName(gatewayId: string, now: number): string {
  const stamp = new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `mfp-gateway-${gatewayId}-${stamp}`;
}

const README = `mfp-gateway diagnostics bundle

about.json   version, commit, Node, host: what runs where
config.yaml  the effective config; every secret (tokens, passwords, keys, URL passwords) is ***
status.json  what the status page shows: lines, keep-alive, devices, tunnels, jobs
logs.jsonl   the daemon's most recent log lines (as logged: secrets redacted)
metrics.txt  the Prometheus metrics of /metrics
crash.log    the unit's crash log from the state directory, when there is one
`;

/**
 * A .tar.gz of what support needs to understand a gateway: config (masked), status,
 * recent logs, metrics and crash log. Built in memory: a few hundred kilobytes at most
 * (the log ring holds 500 lines of at most 4 KiB).
 */
export async function diagnosticsArchive(sources: DiagnosticsSources): Promise<Buffer> {
  const dir = diagnosticsName(sources.gatewayId, sources.now);
  const crash = await readFile(join(sources.stateDir, CRASH_LOG), 'utf8').catch(() => null);
  const files: [string, string][] = [
    ['README.txt', README],
    [
      'about.json',
      JSON.stringify(
        {
          gatewayId: sources.gatewayId,
          generatedAt: new Date(sources.now).toISOString(),
          build: buildInfo(),
          host: {
            kernel: release(),
            uptimeS: Math.round(uptime()),
            loadavg: loadavg(),
            memory: { totalBytes: totalmem(), freeBytes: freemem() },
          },
          process: { pid: process.pid, uptimeS: Math.round(process.uptime()), memory: process.memoryUsage() },
        },
        null,
        2,
      ),
    ],
    ['config.yaml', stringify(sources.maskedConfig)],
    ['status.json', JSON.stringify(sources.status, null, 2)],
    [
      'logs.jsonl',
      sources.logs
        .since(0)
        .map((e) => JSON.stringify(e))
        .join('\n'),
    ],
    ['metrics.txt', sources.metrics],
    ...(crash === null ? [] : [[CRASH_LOG, crash] as [string, string]]),
  ];
  const tar = pack();
  const gzip = createGzip();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    gzip.on('data', (c: Buffer) => chunks.push(c));
    gzip.on('end', () => resolve(Buffer.concat(chunks)));
    gzip.on('error', reject);
  });
  tar.pipe(gzip);
  const mtime = new Date(sources.now);
  for (const [name, text] of files) tar.entry({ name: `${dir}/${name}`, mode: 0o644, mtime }, text);
  tar.finalize();
  return done;
}
