// @ts-check
// The power mode in force, why, the next change, and the override form.
import { byId, el } from './dom.js';
import { time } from './format.js';

/** @typedef {import('./types.js').Status} Status */

/** @type {Record<string, string>} */
const POWER_SOURCES = { base: 'the base mode', schedule: 'the schedule' };

/**
 * The override form keeps its choices while the configured modes are unchanged.
 * @param {Status['power']} p
 */
export function renderPower(p) {
  const shown = byId('power-now');
  shown.dataset.mode = p.mode;
  shown.dataset.source = p.source;
  shown.replaceChildren(
    el('strong', null, p.mode),
    p.source === 'override'
      ? ` — overridden until ${time(p.overrideUntil)}`
      : ` — from ${POWER_SOURCES[p.source] || p.source}`,
    p.next ? ` · next: ${p.next.mode} at ${time(p.next.at)}` : ' · no change scheduled',
  );
  byId('power-override').hidden = !p.canOverride;
  byId('power-clear').hidden = p.source !== 'override';
  const select = byId('power-mode', HTMLSelectElement);
  if ([...select.options].map((o) => o.value).join() !== p.modes.join()) {
    select.replaceChildren(...p.modes.map((m) => el('option', { value: m }, m)));
    select.value = p.modes.find((m) => m !== p.mode) || p.mode;
  }
}

const csrfToken = () => {
  const input = document.querySelector('#logout input[name="_csrf"]');
  return input instanceof HTMLInputElement ? input.value : '';
};

/**
 * Sets or ends the override; the new mode arrives with the next live patch.
 * @param {'POST' | 'DELETE'} method
 * @param {{ mode: string, forMs: number }} [body]
 */
async function powerOverride(method, body) {
  const message = byId('power-message');
  message.textContent = '';
  try {
    const res = await fetch('/api/power-override', {
      method,
      cache: 'no-store',
      headers: { 'x-csrf-token': csrfToken(), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : null,
    });
    if (res.ok) return;
    if (res.status === 401) {
      location.href = '/login';
      return;
    }
    let reason = 'refused: reload the page and try again';
    if (res.status !== 403) reason = (await res.json().catch(() => ({}))).message || `HTTP ${res.status}`;
    message.textContent = `Not changed: ${reason}`;
  } catch {
    message.textContent = 'The gateway did not answer; try again.';
  }
}

/** Wires the override form's buttons. */
export function wirePowerOverride() {
  byId('power-override').addEventListener('submit', (event) => {
    event.preventDefault();
    void powerOverride('POST', {
      mode: byId('power-mode', HTMLSelectElement).value,
      forMs: Number(byId('power-for', HTMLSelectElement).value),
    });
  });
  byId('power-clear').addEventListener('click', () => void powerOverride('DELETE'));
}
