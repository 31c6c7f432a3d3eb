// @ts-check
// The tunnels relaying now and the recent jobs.
import { badge, byId, el, empty, nowrap, table } from './dom.js';
import { ago, bytes, pct } from './format.js';

/**
 * @typedef {import('./types.js').Status} Status
 * @typedef {import('./types.js').Job} Job
 * @typedef {import('./dom.js').Child} Child
 */

/** @type {Record<string, string>} */
const OUTCOME_KINDS = {
  running: 'warn',
  waiting: 'warn',
  done: 'ok',
  switched: 'ok',
  failed: 'bad',
  interrupted: 'bad',
};

/**
 * A job id short enough for a phone's table; the whole one is its tooltip and in the logs.
 * @param {string} id
 * @param {...Child} more
 */
const jobCell = (id, ...more) => el('td', { title: id }, id.length > 12 ? `${id.slice(0, 8)}…` : id, ...more);

/**
 * @param {Job} j
 * @returns {Child}
 */
function jobProgress(j) {
  const amount = `${bytes(j.bytes)}${j.size === null ? '' : ` of ${bytes(j.size)}`}`;
  if (j.outcome !== 'running' && j.outcome !== 'waiting') {
    return `${amount}${j.pages ? ` · ${j.pages} page${j.pages === 1 ? '' : 's'}` : ''}`;
  }
  // The bar counts what the gateway took from the cloud; the device may still be reading it.
  const note = j.progress === 1 ? ' · all here, the device is still taking it' : '';
  return [
    // Without a size (an older cloud) the bar is indeterminate.
    el('progress', { max: 1, value: j.progress === null ? null : j.progress }),
    ` ${j.progress === null ? '' : `${pct(j.progress)} · `}${amount}${note}`,
  ];
}

/** @param {Status} status */
export function renderTunnelsAndJobs(status) {
  const { tunnels, jobs } = status;
  byId('tunnel-list').replaceChildren(
    tunnels.length === 0
      ? empty('No tunnels open.')
      : table(
          ['job', 'to', 'to device', 'back', 'rate', 'open'],
          tunnels.map((t) =>
            el(
              'tr',
              { 'data-tunnel': t.id, 'data-job': t.jobId },
              jobCell(t.jobId),
              el('td', null, t.deviceId || t.target),
              nowrap(bytes(t.bytesToDevice)),
              nowrap(bytes(t.bytesFromDevice)),
              nowrap(`${bytes(t.rateBps)}/s`),
              nowrap(ago(t.openedAt)),
            ),
          ),
        ),
  );
  byId('job-list').replaceChildren(
    jobs.length === 0
      ? empty('No jobs yet.')
      : table(
          ['job', 'device', 'route', 'progress', 'outcome'],
          jobs.map((j) =>
            el(
              'tr',
              {
                'data-job': j.id,
                'data-outcome': j.outcome,
                'data-route': j.route.join('>'),
                'data-progress': j.progress === null ? null : j.progress,
              },
              jobCell(j.id, el('small', { class: 'message' }, ago(j.startedAt))),
              el('td', null, j.deviceId),
              el('td', { class: 'route' }, j.route.join(' → ')),
              el('td', null, jobProgress(j)),
              el(
                'td',
                null,
                badge(j.outcome, OUTCOME_KINDS[j.outcome] || 'warn'),
                j.reason ? ` ${j.reason}` : '',
              ),
            ),
          ),
        ),
  );
}
