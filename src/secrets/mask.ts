/**
 * The one place that decides what is a secret and how it is hidden. Used wherever config
 * or its errors leave the process: config errors (terminal, journal, setup page, the MQTT
 * `reload-config` reply), the status page's settings and the diagnostics bundle.
 */

/**
 * Keys whose values are secrets: tokens, passwords and passphrases, their hashes, SNMP
 * communities (a v2c community is a password), credentials, API and private keys.
 * Matched on the last segment of a dotted key, case-insensitively.
 */
const SECRET_KEY =
  /token|passw(or)?d|passphrase|secret|hash|community|credential|api_?key|private_?key|^key$/i;

/** What a hidden value is replaced by; never says what it hides, not even its length. */
export const MASK = '***';

/** `scheme://userinfo@`: userinfo runs to the last "@" before the path, query or fragment. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#"'<>]*)@/gi;

/** Whether the value under this key (e.g. "cloud.token", "community") is a secret. */
export function isSecretKey(key: string): boolean {
  const last = key.split('.').at(-1) ?? '';
  return SECRET_KEY.test(last);
}

/**
 * Hides the credentials of every URL in a text: `http://bob:pw@proxy` becomes
 * `http://bob:***@proxy` (the user name stays, it says which account), and a lone
 * userinfo, which by convention is a token (`https://TOKEN@host`), becomes `***`.
 */
export function maskUrlCredentials(text: string): string {
  return text.replace(URL_USERINFO, (_all, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    const shown = colon >= 0 ? `${userinfo.slice(0, colon)}:${MASK}` : MASK;
    return `${scheme}${shown}@`;
  });
}

/**
 * A copy of a config value (or any part of it) fit to show: the value of every secret key
 * replaced by "***", the credentials of every URL in a string hidden.
 */
export function maskSecrets(value: unknown, key = ''): unknown {
  if (key !== '' && isSecretKey(key) && value !== undefined && value !== null && value !== '') return MASK;
  if (typeof value === 'string') return maskUrlCredentials(value);
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k)]));
  }
  return value;
}
