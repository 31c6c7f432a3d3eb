import { afterEach } from 'vitest';
import { scratchDir } from './chain.ts';
import type { CliProcess } from './cli-process.ts';

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

/**
 * The usual teardown of an integration test file: `track` stops a process (with `signal`,
 * or politely) and `scratch` makes a temp directory, both undone after each test.
 */
export function processTeardown(signal?: NodeJS.Signals): {
  defer: (fn: () => unknown) => void;
  track: <T extends CliProcess>(proc: T) => T;
  scratch: (name: string) => string;
} {
  const defer = deferredTeardown();
  return {
    defer,
    track: (proc) => {
      defer(() => proc.stop(signal));
      return proc;
    },
    scratch: (name) => {
      const { dir, cleanup } = scratchDir(name);
      defer(cleanup);
      return dir;
    },
  };
}
