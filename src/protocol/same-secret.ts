import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Whether a token someone presented equals the expected one, in time that reveals neither
 * where they differ nor the expected length: both are hashed to the same size first.
 */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected)) && given.length === expected.length;
}
