import { afterEach } from 'vitest';

/**
 * Registers an afterEach that runs every deferred clean-up of the test, newest first, so a
 * test says what to tear down right where it starts it.
 */
export function deferredTeardown(): (fn: () => unknown) => void {
  const pending: Array<() => unknown> = [];
  afterEach(async () => {
    for (const fn of pending.splice(0).reverse()) await fn();
  });
  return (fn) => {
    pending.push(fn);
  };
}
