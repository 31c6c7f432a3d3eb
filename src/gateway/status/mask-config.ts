/** Keys whose values are secrets (tokens, passwords, their hashes, private keys). */
const SECRET_KEY = /token|password|secret|privatekey|^key$/i;
export const MASK = '***';

/**
 * The effective config for the settings view: every secret replaced by "***", and the
 * password of any URL with credentials (a proxy) too. Never shows what it hides, not
 * even its length.
 */
export function maskSecrets(value: unknown, key = ''): unknown {
  if (SECRET_KEY.test(key) && value !== undefined && value !== null && value !== '') return MASK;
  if (typeof value === 'string') return maskUrlPassword(value);
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k)]));
  }
  return value;
}

function maskUrlPassword(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(text)) return text;
  try {
    const url = new URL(text);
    if (!url.password) return text;
    url.password = MASK;
    return url.toString();
  } catch {
    return text;
  }
}
