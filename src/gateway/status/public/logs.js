// @ts-check
// One list, newest first, of the daemon's log lines, the journal's tunnel records and the
// devices' syslog lines; filtered by source, text and level.
import { byId, el } from './dom.js';
import { bytes, duration } from './format.js';

/** @typedef {import('./types.js').Status} Status */

/**
 * One row of the list: `details` are the line's other fields, shown small after the message.
 * @typedef {{ source: 'gateway' | 'tunnel' | 'device', time: number, level: string, text: string, details: string }} LogRow
 */

/** @type {Record<string, number>} */
const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** Words for the levels, as a person reads them. */
/** @type {Record<string, string>} */
const LEVEL_WORDS = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warning',
  error: 'error',
  fatal: 'fatal',
};

/**
 * A log line's fields as `key value` pairs (a nested value as compact JSON), not a JSON object.
 * @param {Record<string, unknown>} fields
 */
function fieldText(fields) {
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' · ');
}

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
    text: l.msg,
    details: fieldText(l.fields),
  }));
  for (const t of status.journal.tunnels) {
    rows.push({
      source: 'tunnel',
      time: t.closedAt,
      level: t.outcome === 'done' || t.outcome === 'switched' ? 'info' : 'warn',
      text: `job ${t.jobId} → ${t.target}: ${t.outcome}`,
      details: `${bytes(t.bytesToDevice)} to the device, ${bytes(t.bytesFromDevice)} back · open ${duration(t.closedAt - t.openedAt)}`,
    });
  }
  for (const d of status.journal.deviceLogs) {
    rows.push({
      source: 'device',
      time: d.receivedAt,
      level: SEVERITY_LEVELS[d.severity] || 'info',
      text: `${d.hostname || d.source}${d.appName ? ` ${d.appName}` : ''}: ${d.message}`,
      details: d.jobId ? `job ${d.jobId}` : '',
    });
  }
  return rows;
}

/** @type {Record<string, string>} */
const NONE_YET = {
  all: 'No log lines yet: the gateway’s messages, finished tunnels and device logs show here as they happen.',
  gateway: 'No messages from the gateway yet.',
  tunnel: 'No finished tunnels yet: each one shows here once it closes.',
  device: 'No device log lines yet: devices that send their syslog to the gateway show here.',
};

/**
 * Why the list is empty: nothing yet (of that source), or the filters hide everything.
 * @param {LogRow[]} rows
 * @param {string} source
 */
function emptyText(rows, source) {
  const ofSource = source === 'all' ? rows : rows.filter((r) => r.source === source);
  if (ofSource.length === 0) return NONE_YET[source] || NONE_YET.all || '';
  return 'No log lines match: change the filter text or the lowest level shown.';
}

/** @param {Status} status */
export function renderLogs(status) {
  const filter = byId('log-filter', HTMLInputElement).value.trim().toLowerCase();
  const min = LEVELS[byId('log-level', HTMLSelectElement).value] || 0;
  const source = byId('log-source', HTMLSelectElement).value;
  const rows = logRows(status);
  const shown = rows
    .filter((r) => (source === 'all' || r.source === source) && (LEVELS[r.level] || 0) >= min)
    .filter((r) => !filter || `${r.text} ${r.details}`.toLowerCase().includes(filter))
    .sort((a, b) => b.time - a.time)
    .slice(0, 200);
  const list = byId('log-lines');
  list.replaceChildren(
    ...shown.map((r) =>
      el(
        'li',
        { class: `level-${r.level}`, 'data-source': r.source },
        el('time', { datetime: new Date(r.time).toISOString() }, new Date(r.time).toLocaleTimeString()),
        el('span', { class: 'level' }, LEVEL_WORDS[r.level] || r.level),
        el('span', { class: 'source' }, r.source),
        el('span', { class: 'text' }, r.text),
        r.details ? el('small', { class: 'details' }, r.details) : null,
      ),
    ),
  );
  byId('log-empty').textContent = shown.length > 0 ? '' : emptyText(rows, source);
  byId('log-empty').hidden = shown.length > 0;
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
