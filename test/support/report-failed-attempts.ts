/**
 * Vitest setup file: prints every failed attempt of a test, with its errors, as it fails. With
 * `retry` (CI) a test that passes on its second try is reported only as "(retry x1)", and the
 * first try's errors are gone; docs/development.md lists such tests as bugs to find, which
 * needs what failed.
 */
import { beforeEach } from 'vitest';

beforeEach(({ onTestFailed }) => {
  onTestFailed(({ task }) => {
    const attempt = (task.result?.retryCount ?? 0) + 1;
    const errors = (task.result?.errors ?? []).map((e) => e.stack ?? e.message).join('\n');
    console.error(`failed attempt ${attempt} of "${task.fullName ?? task.name}":\n${errors}`);
  });
});
