// @ts-check
// The banner: the daemon's verdict (health-verdict.ts) in one line, and what to know beyond it.
import { byId, el, term } from './dom.js';

/** @typedef {import('./types.js').Status} Status */

/** @type {Record<Status['health']['state'], string>} */
const ICONS = { ok: '●', learning: '◐', degraded: '▲', disconnected: '✕' };

/** @param {Status['health']} health */
export function renderHealth(health) {
  const banner = byId('health');
  banner.dataset.state = health.state;
  byId('health-headline').replaceChildren(
    el('span', { class: 'icon', 'aria-hidden': 'true' }, ICONS[health.state]),
    el(
      'span',
      { class: 'verdict' },
      ...health.headline.flatMap((p, i) => [i ? ' · ' : '', term(p.text, p.term)]),
    ),
  );
  byId('health-notes').replaceChildren(...health.notes.map((n) => el('li', null, term(n.text, n.term))));
}
