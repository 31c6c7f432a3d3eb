// @ts-check
// Numbers as people read them: durations, sizes, times relative to the gateway's clock.

/** Server time minus browser time, so "5 s ago" is right even when the clocks differ. */
let clockOffset = 0;

/** @param {number} serverNow the gateway's clock when it sent the message */
export function setServerNow(serverNow) {
  clockOffset = serverNow - Date.now();
}

/** The gateway's clock, as far as the browser can tell. */
export const now = () => Date.now() + clockOffset;

/** @param {number | null | undefined} ms */
export function duration(ms) {
  if (ms === null || ms === undefined) return '—';
  const s = Math.round(ms / 1000);
  if (s < 120) return ms < 10_000 && ms % 1000 ? `${(ms / 1000).toFixed(1)} s` : `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m} min ${s % 60 ? `${s % 60} s` : ''}`.trim();
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60 ? `${m % 60} min` : ''}`.trim();
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** @param {number | null | undefined} t */
export const ago = (t) => (t ? `${duration(Math.max(0, now() - t))} ago` : '—');

/** @param {number | null | undefined} t */
export const time = (t) => (t ? new Date(t).toLocaleString() : '—');

/** @param {number | null | undefined} n */
export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** @param {number} x 0…1 */
export const pct = (x) => `${Math.floor(x * 100)} %`;

/**
 * "1 line", "2 lines".
 * @param {number} n
 * @param {string} one
 * @param {string} [many]
 */
export const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
