import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // CI runs ~180 files of real processes on 2 cores; a test that fails once there is run
    // again and the reporter says so ("retry x1"). A retried test is a bug to find, not noise:
    // docs/development.md lists the ones seen and what is known of each.
    retry: process.env.CI ? 1 : 0,
    // And prints each failed attempt's errors, which the reporter drops once a retry passes.
    setupFiles: ['test/support/report-failed-attempts.ts'],
    // Vitest's default is one worker per core but one: on CI's two cores that is one file at a
    // time, while most integration tests wait on real timeouts, not the CPU.
    maxWorkers: 3,
  },
});
