import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { scratchDir } from '../support/chain.ts';

const IMAGE = fileURLToPath(new URL('../../board/image/', import.meta.url));
const SETTINGS = [
  'IMG_NAME',
  'RELEASE',
  'DEPLOY_COMPRESSION',
  'STAGE_LIST',
  'FIRST_USER_NAME',
  'FIRST_USER_PASS',
  'DISABLE_FIRST_BOOT_USER_RENAME',
  'ENABLE_SSH',
  'PUBKEY_ONLY_SSH',
  'PUBKEY_SSH_FIRST_USER',
  'PASSWORDLESS_SUDO',
];

const scratch = scratchDir('image');
afterAll(() => scratch.cleanup());

/** The settings pi-gen sees after sourcing the config (as its build.sh does, with bash). */
function settings(config: string): Record<string, string> {
  const file = join(scratch.dir, 'config');
  writeFileSync(file, config);
  const script = `set -eu; source "$1"; ${SETTINGS.map((k) => `printf '%s=%s\\n' ${k} "\${${k}:-}"`).join('; ')}`;
  const run = spawnSync('bash', ['-c', script, 'pi-gen', file], { encoding: 'utf8', env: {} });
  expect(run.status, run.stderr).toBe(0);
  return Object.fromEntries(
    run.stdout
      .trim()
      .split('\n')
      .map((l) => [l.split('=')[0], l.slice(l.indexOf('=') + 1)]),
  );
}

const shipped = readFileSync(join(IMAGE, 'config'), 'utf8');
const KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKqWmL3m0c3cr1x5W8QmP0s3v0q8b8Yt8rG5n7Yk9m2x admin@example.com';

describe('board/image/config (pi-gen settings)', () => {
  it('builds 64-bit Raspberry Pi OS trixie as a .zip, our stage after Lite', () => {
    const s = settings(shipped);
    expect(s).toMatchObject({ IMG_NAME: 'mfp-gateway', RELEASE: 'trixie', DEPLOY_COMPRESSION: 'zip' });
    expect(s.STAGE_LIST).toBe('stage0 stage1 stage2 stage-mfp-gateway');
  });

  it('ships no known password: no first-user password and SSH off', () => {
    const s = settings(shipped);
    expect(s).toMatchObject({ FIRST_USER_PASS: '', ENABLE_SSH: '0', DISABLE_FIRST_BOOT_USER_RENAME: '' });
  });

  it('with an SSH key: SSH for that key only, a random password nobody is shown', () => {
    const withKey = `PUBKEY_SSH_FIRST_USER='${KEY}'\n${shipped}`;
    const a = settings(withKey);
    const b = settings(withKey);
    expect(a).toMatchObject({
      ENABLE_SSH: '1',
      PUBKEY_ONLY_SSH: '1',
      PUBKEY_SSH_FIRST_USER: KEY,
      DISABLE_FIRST_BOOT_USER_RENAME: '1',
      PASSWORDLESS_SUDO: '1',
    });
    expect(a.FIRST_USER_PASS?.length).toBeGreaterThanOrEqual(32);
    expect(a.FIRST_USER_PASS).not.toBe(b.FIRST_USER_PASS);
  });
});

describe('board/image/build-image.sh', () => {
  const build = (...args: string[]) =>
    spawnSync('bash', [join(IMAGE, 'build-image.sh'), ...args], { encoding: 'utf8', cwd: scratch.dir });

  it('pins pi-gen to a release tag of its arm64 branch and that tag’s commit, as the README says', () => {
    const script = readFileSync(join(IMAGE, 'build-image.sh'), 'utf8');
    const tag = /^PI_GEN_TAG=(\S+)$/m.exec(script)?.[1];
    const commit = /^PI_GEN_COMMIT=(\S+)$/m.exec(script)?.[1];
    expect(tag).toMatch(/^\d{4}-\d\d-\d\d-raspios-trixie-arm64$/);
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    const readme = readFileSync(join(IMAGE, 'README.md'), 'utf8');
    expect(readme).toContain(`\`${tag}\``);
    expect(readme).toContain(`\`${commit}\``);
  });

  it('refuses to start without an arm64 bundle and its checksum, before fetching anything', () => {
    expect(build().stderr).toMatch(/give the arm64 release bundle/);
    expect(build('--bundle', 'mfp-gateway-0.1.0-linux-x64.tar.gz').stderr).toMatch(
      /not an arm64 release bundle/,
    );
    writeFileSync(join(scratch.dir, 'mfp-gateway-0.1.0-linux-arm64.tar.gz'), '');
    const run = build('--bundle', 'mfp-gateway-0.1.0-linux-arm64.tar.gz');
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/\.sha256 is missing/);
  });
});
