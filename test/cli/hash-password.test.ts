import { describe, expect, it } from 'vitest';
import { isPasswordHash, verifyPassword } from '../../src/secrets/password-hash.ts';
import { startCli } from '../support/cli-process.ts';

/** Runs `mfp-gateway hash-password ARGS` as a real process with `input` on its stdin. */
async function hashPassword(input: string, args: string[] = []) {
  const cli = startCli(['hash-password', ...args], {}, { input });
  const code = await cli.exited();
  return { code, stdout: cli.lines.map((l) => l.msg).join('\n'), stderr: cli.stderr() };
}

describe('mfp-gateway hash-password', () => {
  it('prints a hash of the password on stdin that the status page accepts', async () => {
    const run = await hashPassword('correct horse battery\n');
    expect(run.code).toBe(0);
    expect(isPasswordHash(run.stdout)).toBe(true);
    expect(await verifyPassword('correct horse battery', run.stdout)).toBe(true);
    expect(await verifyPassword('correct horse', run.stdout)).toBe(false);
  });

  it('refuses a password shorter than 8 characters and prints no hash', async () => {
    const run = await hashPassword('short');
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/at least 8 characters on stdin/);
  });

  it('prints its usage with --help', async () => {
    const run = await hashPassword('', ['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/status\.passwordHash/);
  });
});
