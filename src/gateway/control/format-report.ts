import { formatDuration } from '../../calendar/duration.ts';
import type { DaemonReport } from './daemon-report.ts';

/** "3h12m" since `at`, or "-" when there is no time. */
function age(now: number, at: number | null): string {
  return at === null ? '-' : formatDuration(Math.max(0, now - at));
}

/** Columns padded to their widest cell. */
function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** The report as a person reads it at a terminal, like `cloudflared tunnel info`. */
export function formatReport(r: DaemonReport): string {
  const { link, now } = r;
  const push = link.lines.filter((l) => l.role === 'push');
  const advice = link.advice;
  const keepalive = advice
    ? `keep-alive ${formatDuration(advice.intervalMs)} (${advice.source}${advice.converged ? ', learned' : ', learning'})`
    : 'keep-alive: no advice from the cloud yet';
  const lines = [
    `gateway ${r.gatewayId} · mfp-gateway ${r.build.version} (commit ${r.build.commit}) Node ${r.build.node} · pid ${r.pid} · up ${age(now, r.startedAt)}`,
    `cloud    ${r.cloud}${r.proxy ? ` via proxy ${r.proxy}` : ''}`,
    `lines    ${push.filter((l) => l.state === 'open').length} of ${push.length} push lines up${link.probing ? ', probing' : ''} · ${keepalive}`,
    '',
    ...table([
      ['LINE', 'ROLE', 'STATE', 'UP FOR', 'KEEP-ALIVE', 'RECONNECTS', 'LAST ERROR'],
      ...link.lines.map((l) => [
        l.id,
        l.role,
        l.state,
        age(now, l.connectedSince),
        l.keepaliveMs === null ? '-' : formatDuration(l.keepaliveMs),
        String(l.reconnects),
        l.lastError ?? '',
      ]),
    ]).map((l) => `  ${l}`),
    '',
    `power    ${r.power.mode} (${r.power.source})${r.power.next ? ` · ${r.power.next.mode} at ${new Date(r.power.next.at).toISOString()}` : ''}`,
    `devices  ${r.devices.length === 0 ? 'none configured' : r.devices.map((d) => `${d.id} ${d.state}${d.reasons.length ? ` (${d.reasons.join(', ')})` : ''}`).join(' · ')}`,
    `tunnels  ${r.tunnels.active} open · ${r.tunnels.jobs} jobs running`,
    `page     ${r.statusPage ?? 'off'}`,
  ];
  return `${lines.join('\n')}\n`;
}
