const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const PART = /(\d+(?:\.\d+)?)\s*(ms|min|s|m|h|d|w)/y;

/** Why a duration string was refused. */
export class DurationError extends Error {
  readonly code = 'MFP_ERR_DURATION';
}

/**
 * Parses a duration written with units: "45s", "2h", "1h30m", "250ms", "7d".
 * A bare number is refused: an interval without a unit is a bug waiting to happen.
 */
export function parseDuration(text: string): number {
  const input = text.trim();
  if (input === '') throw new DurationError('empty duration; expected e.g. "45s", "2h" or "1h30m"');
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < input.length) {
    const start = PART.lastIndex;
    const match = PART.exec(input);
    if (!match || match.index !== start) {
      throw new DurationError(
        `"${text}" is not a duration; expected a number with a unit (ms, s, m, h, d, w), e.g. "45s", "2h" or "1h30m"`,
      );
    }
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
    while (input[PART.lastIndex] === ' ') PART.lastIndex++;
  }
  return Math.round(total);
}

/** Formats milliseconds compactly for people: 7440000 → "2h4m", 1500 → "1.5s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}
