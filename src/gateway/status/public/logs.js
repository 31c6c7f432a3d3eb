// @ts-check
// One list, newest first, of the daemon's log lines, the journal's tunnel records and the
// devices' syslog lines; filtered by source, text and level.
import { byId, el } from './dom.js';
import { bytes, duration } from './format.js';

/** @typedef {import('./types.js').Status} Status */

/** @typedef {{ source: 'gateway' | 'tunnel' | 'device', time: number, level: string, text: string }} LogRow */

/** @type {Record<string, number>} */
const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** Syslog severities (0 emergency … 7 debug) as the page's levels. */
const SEVERITY_LEVELS = ['fatal', 'fatal', 'fatal', 'error', 'warn', 'info', 'info', 'debug'];

/**
 * @param {Status} status
 * @returns {LogRow[]}
 */
function logRows(status) {
  /** @type {LogRow[]} */
  const rows = status.logs.map((l) => ({
    source: 'gateway',
    time: l.time,
    level: l.level,
    text: `${l.msg} ${Object.keys(l.fields).length ? JSON.stringify(l.fields) : ''}`,
  }));
  for (const t of status.journal.tunnels) {
    rows.push({
      source: 'tunnel',
      time: t.closedAt,
      level: t.outcome === 'done' || t.outcome === 'switched' ? 'info' : 'warn',
      text: `job ${t.jobId} → ${t.target}: ${t.outcome} · ${bytes(t.bytesToDevice)} to the device, ${bytes(t.bytesFromDevice)} back · open ${duration(t.closedAt - t.openedAt)}`,
    });
  }
  for (const d of status.journal.deviceLogs) {
    rows.push({
      source: 'device',
      time: d.receivedAt,
      level: SEVERITY_LEVELS[d.severity] || 'info',
      text: `${d.hostname || d.source}${d.appName ? ` ${d.appName}` : ''}: ${d.message}${d.jobId ? ` (job ${d.jobId})` : ''}`,
    });
  }
  return rows;
}

/** @param {Status} status */
export function renderLogs(status) {
  const filter = byId('log-filter', HTMLInputElement).value.trim().toLowerCase();
  const min = LEVELS[byId('log-level', HTMLSelectElement).value] || 0;
  const source = byId('log-source', HTMLSelectElement).value;
  const shown = logRows(status)
    .filter((r) => (source === 'all' || r.source === source) && (LEVELS[r.level] || 0) >= min)
    .filter((r) => !filter || r.text.toLowerCase().includes(filter))
    .sort((a, b) => b.time - a.time)
    .slice(0, 200);
  byId('log-lines').replaceChildren(
    ...shown.map((r) =>
      el(
        'li',
        { class: `level-${r.level}`, 'data-source': r.source },
        el('time', null, new Date(r.time).toLocaleTimeString()),
        ` ${r.level} `,
        el('span', { class: 'source' }, r.source),
        ` ${r.text}`,
      ),
    ),
  );
}

/**
 * Redraws the list when a filter changes.
 * @param {() => Status | null} current
 */
export function wireLogFilters(current) {
  const redraw = () => {
    const status = current();
    if (status) renderLogs(status);
  };
  byId('log-filter').addEventListener('input', redraw);
  byId('log-level').addEventListener('change', redraw);
  byId('log-source').addEventListener('change', redraw);
}
