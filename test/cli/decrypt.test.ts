import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeEncryptedFile } from '../../src/storage/secure-file.ts';
import { startCli } from '../support/cli-process.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `mfp-gateway decrypt ARGS` as a real process to its end. */
async function decrypt(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const cli = startCli(['decrypt', ...args], env);
  const code = await cli.exited();
  return { code, stdout: cli.lines.map((l) => l.msg).join('\n'), stderr: cli.stderr() };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const key = randomBytes(32);
const data = randomBytes(2 * 1024 * 1024);
let dir: string;
let keyFile: string;
let encrypted: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'decrypt-cli-'));
  keyFile = join(dir, 'site.key');
  await writeFile(keyFile, `${key.toString('base64')}\n`, { mode: 0o600 });
  encrypted = (await writeEncryptedFile(Readable.from([data]), dir, 'report.pdf', key)).path;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mfp-gateway decrypt', () => {
  it('decrypts to the input name without .enc', async () => {
    const run = await decrypt(['--key-file', keyFile, encrypted]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`decrypted ${data.length} bytes to ${join(dir, 'report.pdf')}`);
    expect(sha256(await readFile(join(dir, 'report.pdf')))).toBe(sha256(data));
  });

  it('takes the key from an environment variable in hex, and writes where -o says', async () => {
    const out = join(dir, 'copy.pdf');
    const run = await decrypt(['--key-env', 'SITE_KEY', encrypted, '-o', out], {
      SITE_KEY: key.toString('hex'),
    });
    expect(run.code, run.stderr).toBe(0);
    expect(sha256(await readFile(out))).toBe(sha256(data));
  });

  it('fails with status 1 and says so on a wrong key, writing nothing', async () => {
    await writeFile(keyFile, randomBytes(32).toString('base64'));
    const run = await decrypt(['--key-file', keyFile, encrypted]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/encrypted with another key.*MFP_STORE_ERR_WRONG_KEY/s);
    expect((await readdir(dir)).sort()).toEqual(['report.pdf.enc', 'site.key']);
  });

  it('fails with status 1 on a changed file, writing nothing', async () => {
    const bytes = await readFile(encrypted);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0x80;
    await writeFile(encrypted, bytes);
    const run = await decrypt(['--key-file', keyFile, encrypted]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/changed after it was written.*MFP_STORE_ERR_TAMPERED/s);
    expect((await readdir(dir)).sort()).toEqual(['report.pdf.enc', 'site.key']);
  });

  it('fails with status 1 on a missing input, a bad key file, or an unset key variable', async () => {
    const badKeyFile = join(dir, 'bad.key');
    await writeFile(badKeyFile, 'hunter2');
    const [missing, badKey, unset] = await Promise.all([
      decrypt(['--key-file', keyFile, join(dir, 'nothing.enc')]),
      decrypt(['--key-file', badKeyFile, encrypted]),
      decrypt(['--key-env', 'NO_SUCH_KEY_VAR', encrypted]),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nothing\.enc.*no such file/);
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toMatch(/key file .*bad\.key: the storage key is not 32 bytes/);
    expect(badKey.stderr).not.toContain('hunter2');
    expect(unset.code).toBe(1);
    expect(unset.stderr).toMatch(/NO_SUCH_KEY_VAR is not set/);
    expect((await readdir(dir)).sort()).toEqual(['bad.key', 'report.pdf.enc', 'site.key']);
  });

  it('refuses to overwrite an existing output unless --force', async () => {
    const out = join(dir, 'report.pdf');
    await writeFile(out, 'older');
    const refused = await decrypt(['--key-file', keyFile, encrypted]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already exists; pass --force/);
    expect(await readFile(out, 'utf8')).toBe('older');

    const forced = await decrypt(['--key-file', keyFile, '--force', encrypted]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(sha256(await readFile(out))).toBe(sha256(data));
  });

  it('exits 64 on wrong usage', async () => {
    const [noKey, both, notEnc, noInput] = await Promise.all([
      decrypt([encrypted]),
      decrypt(['--key-file', keyFile, '--key-env', 'X', encrypted]),
      decrypt(['--key-file', keyFile, keyFile]),
      decrypt(['--key-file', keyFile]),
    ]);
    expect([noKey.code, both.code, notEnc.code, noInput.code]).toEqual([64, 64, 64, 64]);
    expect(noKey.stderr).toMatch(/--key-file FILE or --key-env NAME/);
    expect(both.stderr).toMatch(/cannot be used with/);
    expect(notEnc.stderr).toMatch(/does not end in "\.enc"; name the output with -o/);
    expect(noInput.stderr).toMatch(/missing required argument/);
  });

  it('explains in --help where the key comes from', async () => {
    const run = await decrypt(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/storage\.key/);
    expect(run.stdout).toMatch(/MFPGW_STORAGE_KEY/);
  });
});
