// @ts-check
// The effective configuration, as YAML in the config file's own units (the daemon writes
// durations back as "45s", "2h"; secrets are masked by the daemon, never sent).
import { byId } from './dom.js';

/** A plain YAML scalar needs no quotes; anything that could read as another type, or as YAML syntax, gets them. */
const PLAIN = /^[A-Za-z0-9_./][A-Za-z0-9_./:@+, -]*$/;
const LOOKS_TYPED = /^(true|false|null|yes|no|on|off|~|[-+]?[0-9][0-9_.e+-]*)$/i;

/** @param {unknown} value */
function scalar(value) {
  if (typeof value !== 'string') return String(value);
  return PLAIN.test(value) && !LOOKS_TYPED.test(value) && !value.includes(': ') && !value.endsWith(' ')
    ? value
    : JSON.stringify(value);
}

/**
 * @param {unknown} value
 * @param {string} indent
 * @returns {string[]}
 */
function lines(value, indent) {
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${indent}[]`];
    return value.flatMap((item) => {
      const [first = '', ...rest] = lines(item, `${indent}  `);
      return [`${indent}- ${first.trimStart()}`, ...rest];
    });
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return [`${indent}{}`];
    return entries.flatMap(([k, v]) =>
      v && typeof v === 'object' && (!Array.isArray(v) || v.length)
        ? [`${indent}${k}:`, ...lines(v, `${indent}  `)]
        : [`${indent}${k}: ${Array.isArray(v) ? '[]' : scalar(v)}`],
    );
  }
  return [`${indent}${scalar(value)}`];
}

/**
 * The settings as YAML text.
 * @param {unknown} settings
 */
export function settingsYaml(settings) {
  return lines(settings, '').join('\n');
}

/** @param {unknown} settings */
export function renderSettings(settings) {
  byId('settings-yaml').textContent = settingsYaml(settings);
}
