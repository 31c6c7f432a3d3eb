// @ts-check
// The LAN devices: state, reasons, page meter, supplies, last answer.
import { badge, byId, el, empty, nowrap, table } from './dom.js';
import { ago } from './format.js';

/**
 * @typedef {import('./types.js').Device} Device
 * @typedef {import('./dom.js').Child} Child
 */

/** @type {Record<string, string>} */
const DEVICE_KINDS = { idle: 'ok', printing: 'ok', stopped: 'warn', unknown: 'warn', offline: 'bad' };

/**
 * @param {Device['supplies']} list
 * @returns {Child}
 */
function supplies(list) {
  if (!list.length) return '—';
  return list.map((x) =>
    el(
      'span',
      { class: 'supply' },
      `${x.name} `,
      x.percent === null
        ? '?'
        : [
            el('meter', { min: 0, max: 100, low: 16, high: 40, optimum: 100, value: x.percent }),
            ` ${x.percent} %`,
          ],
    ),
  );
}

/** @param {Device[]} list */
export function renderDevices(list) {
  byId('device-list').replaceChildren(
    list.length === 0
      ? empty('No devices configured yet.')
      : table(
          ['device', 'state', 'reasons', 'pages', 'toner', 'last seen'],
          list.map((d) =>
            el(
              'tr',
              { 'data-device': d.id, 'data-state': d.state },
              el(
                'td',
                null,
                d.id,
                el('small', null, ` ${d.driver}${d.directCapable ? ', direct-capable' : ''}`),
              ),
              el(
                'td',
                null,
                badge(d.state, DEVICE_KINDS[d.state] || 'warn'),
                d.since && d.state !== 'unknown' ? el('small', null, ` ${ago(d.since)}`) : null,
              ),
              el(
                'td',
                null,
                d.reasons.join(', ') || '—',
                d.message ? el('small', { class: 'message' }, d.message) : null,
              ),
              nowrap(d.pageCount === null ? '—' : d.pageCount.toLocaleString()),
              el('td', null, supplies(d.supplies)),
              nowrap(ago(d.lastSeenAt)),
            ),
          ),
        ),
  );
}
