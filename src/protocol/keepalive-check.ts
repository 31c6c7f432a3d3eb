import type { Keepalive } from './messages.ts';

/**
 * The keep-alive, the message a cloud receives most (one per line per interval), checked by
 * hand instead of by its schema (messages.ts keepaliveSchema), which costs several times more.
 * Whatever this accepts the schema accepts too, with the same result
 * (test/protocol/keepalive-check.test.ts checks it on generated messages); anything else —
 * malformed, or merely unusual — is left to the schema, which gives the verdict and its error.
 */
export function checkKeepalive(value: Record<string, unknown>): Keepalive | undefined {
  const { seq, powerMode, keepaliveMs, policyLimited } = value;
  if (value.type !== 'keepalive') return undefined;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return undefined;
  if (typeof powerMode !== 'string' || powerMode.length > 64) return undefined;
  if (!isMs(keepaliveMs) || typeof policyLimited !== 'boolean') return undefined;
  const message: Keepalive = { type: 'keepalive', seq, powerMode, keepaliveMs, policyLimited };
  if (Object.hasOwn(value, 'cpuUsage')) {
    const { cpuUsage } = value;
    if (cpuUsage !== null && !(isMs(cpuUsage) && cpuUsage <= 1)) return undefined;
    message.cpuUsage = cpuUsage;
  }
  if (Object.hasOwn(value, 'lineBytesPerSec')) {
    const { lineBytesPerSec } = value;
    if (lineBytesPerSec !== null && !isMs(lineBytesPerSec)) return undefined;
    message.lineBytesPerSec = lineBytesPerSec;
  }
  return message;
}

/** A finite, non-negative number (the schema's `ms`). */
function isMs(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
