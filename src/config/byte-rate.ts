/** A rate that is not bytes per second: says what to write instead. */
export class ByteRateError extends Error {
  readonly code = 'MFP_CONFIG_ERR_BAD_RATE';
}

/** Bytes per second from "500k", "2m" or a plain number of bytes (k = 1024, m = 1024²); at least 1. */
export function parseByteRate(text: string): number {
  const match = /^(\d{1,12})\s*(k|m)?$/i.exec(text.trim());
  const n = match ? Number(match[1]) * ({ k: 1024, m: 1024 ** 2 }[match[2]?.toLowerCase() ?? ''] ?? 1) : 0;
  if (n <= 0) throw new ByteRateError(`"${text}" is not a rate; give bytes per second, e.g. 500k or 2m`);
  return n;
}
