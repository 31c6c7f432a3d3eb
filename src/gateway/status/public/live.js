// @ts-check
// The live WebSocket: a snapshot, then patches, applied to one `state` the sections draw from.
import { byId } from './dom.js';
import { setServerNow } from './format.js';

/**
 * @typedef {import('./types.js').Status} Status
 * @typedef {import('./types.js').LiveMessage} LiveMessage
 * @typedef {{ seq: number }} Sequenced
 */

/**
 * How the page draws: everything after a snapshot, the sections that changed after a patch.
 * @typedef {{
 *   all(status: Status): void,
 *   patch(status: Status, changed: { sections: string[], logs: boolean }): void,
 * }} Renderer
 */

const MAX_LOG_LINES = 500;

/** @type {Status | null} */
let state = null;
let retryMs = 1000;

/** The page's state, null until the first snapshot. */
export const current = () => state;

/**
 * Appends the items of a stream the browser has not seen (by sequence number).
 * @template {Sequenced} T
 * @param {T[]} list
 * @param {T[]} items
 * @param {number} [max]
 */
function append(list, items, max) {
  const seen = list.length ? (list[list.length - 1]?.seq ?? 0) : 0;
  for (const item of items) if (item.seq > seen) list.push(item);
  if (max && list.length > max) list.splice(0, list.length - max);
}

/**
 * @param {LiveMessage} message
 * @param {Renderer} render
 */
function apply(message, render) {
  if (message.type === 'snapshot') {
    state = message.status;
    setServerNow(state.gateway.now);
    render.all(state);
    // "live" once the page shows the gateway's state, not as soon as the socket opens.
    setLive('live', 'ok');
    return;
  }
  if (message.type !== 'patch' || !state) return;
  Object.assign(state, message.sections);
  if (message.sections.gateway) setServerNow(message.sections.gateway.now);
  append(state.history.points, message.history.points);
  append(state.history.drops, message.history.drops);
  append(state.logs, message.logs, MAX_LOG_LINES);
  render.patch(state, {
    sections: Object.keys(message.sections),
    logs: message.logs.length > 0 || 'journal' in message.sections,
  });
}

/**
 * @param {string} text
 * @param {string} kind
 */
function setLive(text, kind) {
  const pill = byId('live');
  pill.textContent = text;
  pill.className = `pill ${kind}`;
}

/**
 * Opens the live socket; when it closes, asks whether the session is still good (401: to the
 * login) and reconnects with backoff, 1 s doubling to 30 s.
 * @param {Renderer} render
 */
export function connect(render) {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/live`);
  ws.onopen = () => {
    retryMs = 1000;
    setLive('loading…', 'warn');
  };
  ws.onmessage = (event) => apply(/** @type {LiveMessage} */ (JSON.parse(event.data)), render);
  ws.onclose = async () => {
    setLive('reconnecting…', 'warn');
    try {
      const res = await fetch('/api/status', { cache: 'no-store', method: 'HEAD' });
      if (res.status === 401) {
        location.href = '/login';
        return;
      }
    } catch {
      // The gateway is restarting or unreachable: keep trying.
    }
    setTimeout(() => connect(render), retryMs);
    retryMs = Math.min(retryMs * 2, 30_000);
  };
}
