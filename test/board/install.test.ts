import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bundleVersions, copyAppFiles } from '../../board/bundle/build-bundle.ts';
import { scratchDir } from '../support/chain.ts';
import { INSTALL_SH, makeRootfs, PI_CONFIG_TXT, passwdEntry, runScript, snapshot } from './rootfs.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const { version } = bundleVersions();

let dir: string;
let cleanup: () => void;
let root: string;
let bundle: string;

// The install step needs the bundle's layout, not its compiled app or runtime: the
// files every bundle carries (units, board scripts, launcher, VERSION) are enough here.
// The bundle test installs a complete one.
beforeEach(() => {
  ({ dir, cleanup } = scratchDir('install'));
  root = join(dir, 'root');
  makeRootfs(root);
  bundle = join(dir, `mfp-gateway-${version}-linux-x64`);
  copyAppFiles(bundle, version);
});
afterEach(() => cleanup());

function install(...args: string[]): string {
  const result = runScript(join(bundle, 'board/install.sh'), ['--root', root, ...args]);
  expect(result.status, result.output).toBe(0);
  return result.output;
}

const read = (path: string) => readFileSync(join(root, path), 'utf8');

describe('board/install.sh --root', () => {
  it('lays out the appliance: release, user, unit enabled, udev rule, config.txt, journald, watchdog', () => {
    install();

    expect(readlinkSync(join(root, 'opt/mfp-gateway/current'))).toBe(`releases/${version}`);
    expect(read('opt/mfp-gateway/current/VERSION').trim()).toBe(version);
    expect(statSync(join(root, 'opt/mfp-gateway/current/bin/mfp-gateway')).mode & 0o111).toBe(0o111);
    expect(readlinkSync(join(root, 'usr/local/bin/mfp-gateway'))).toBe(
      '/opt/mfp-gateway/current/bin/mfp-gateway',
    );

    const user = passwdEntry(root, 'mfp-gateway');
    expect(user).toBeDefined();
    const [, , uid, gid, , home, shell] = user as string[];
    expect(Number(uid)).toBeLessThan(1000);
    expect([home, shell]).toEqual(['/var/lib/mfp-gateway', '/usr/sbin/nologin']);
    expect(read('etc/group')).toContain(`mfp-gateway:x:${gid}:`);

    const config = statSync(join(root, 'etc/mfp-gateway'));
    expect([config.mode & 0o777, config.uid, config.gid]).toEqual([0o750, 0, Number(gid)]);
    const state = statSync(join(root, 'var/lib/mfp-gateway'));
    expect([state.mode & 0o777, state.uid, state.gid]).toEqual([0o750, Number(uid), Number(gid)]);
    expect(existsSync(join(root, 'etc/mfp-gateway/gateway.yaml.example'))).toBe(true);
    expect(existsSync(join(root, 'etc/mfp-gateway/gateway.yaml'))).toBe(false);

    expect(read('etc/systemd/system/mfp-gateway.service')).toBe(
      readFileSync(join(REPO, 'systemd/mfp-gateway.service'), 'utf8'),
    );
    expect(readlinkSync(join(root, 'etc/systemd/system/multi-user.target.wants/mfp-gateway.service'))).toBe(
      '/etc/systemd/system/mfp-gateway.service',
    );
    expect(existsSync(join(root, 'etc/systemd/system/mfp-gateway-cloud.service'))).toBe(false);

    expect(read('etc/udev/rules.d/99-mfp-gateway-serial.rules')).toBe(
      readFileSync(join(REPO, 'board/udev/99-mfp-gateway-serial.rules'), 'utf8'),
    );
    expect(read('etc/udev/rules.d/99-mfp-gateway-serial.rules')).toMatch(/GROUP="dialout"/);
    expect(read('etc/modules-load.d/mfp-gateway.conf')).toMatch(/^usbserial$/m);

    const configTxt = read('boot/firmware/config.txt');
    expect(configTxt.startsWith(PI_CONFIG_TXT)).toBe(true);
    // After the file's [cm4] section: the lines must apply to every board.
    expect(configTxt.slice(PI_CONFIG_TXT.length)).toMatch(
      /^# >>> .*\n\[all\]\nenable_uart=1\ndtparam=watchdog=on\n# <<< /,
    );

    expect(read('etc/systemd/journald.conf.d/mfp-gateway.conf')).toMatch(/^Storage=volatile$/m);
    expect(read('etc/systemd/system.conf.d/mfp-gateway-watchdog.conf')).toMatch(/^RuntimeWatchdogSec=15s$/m);
  });

  it('is idempotent: a second run leaves the tree exactly as the first, times included, and says so', () => {
    expect(install()).not.toMatch(/nothing changed/);
    const first = snapshot(root);
    expect(install()).toMatch(/done: mfp-gateway \S+, nothing changed/);
    expect(snapshot(root)).toEqual(first);
    expect(read('boot/firmware/config.txt').match(/enable_uart=1/g)).toHaveLength(1);
  });

  it('installs into an empty directory, laying out the account files it needs', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const result = runScript(join(bundle, 'board/install.sh'), ['--root', empty]);
    expect(result.status, result.output).toBe(0);
    expect(result.output).toMatch(/laying out a minimal tree/);
    expect(readlinkSync(join(empty, 'opt/mfp-gateway/current'))).toBe(`releases/${version}`);
    expect(passwdEntry(empty, 'mfp-gateway')).toBeDefined();
    expect(readlinkSync(join(empty, 'etc/systemd/system/multi-user.target.wants/mfp-gateway.service'))).toBe(
      '/etc/systemd/system/mfp-gateway.service',
    );
    expect(result.output).toMatch(/no Raspberry Pi config\.txt/);
    const again = snapshot(empty);
    expect(runScript(join(bundle, 'board/install.sh'), ['--root', empty]).output).toMatch(/nothing changed/);
    expect(snapshot(empty)).toEqual(again);
  });

  it('refuses a --root that does not exist', () => {
    const result = runScript(join(bundle, 'board/install.sh'), ['--root', join(dir, 'nowhere')]);
    expect(result.status).toBe(1);
    expect(result.output).toMatch(/does not exist/);
  });

  it('installs under another prefix, with the unit pointing there', () => {
    install('--prefix', '/srv/mfpgw', '--journal', 'persistent', '--with-cloud');
    expect(readlinkSync(join(root, 'srv/mfpgw/current'))).toBe(`releases/${version}`);
    const unit = read('etc/systemd/system/mfp-gateway.service');
    expect(unit).toMatch(/^ExecStart=\/srv\/mfpgw\/current\/bin\/mfp-gateway run /m);
    expect(unit).not.toMatch(/\/opt\/mfp-gateway/);
    expect(read('etc/systemd/system/mfp-gateway-cloud.service')).toMatch(
      /^ExecStart=\/srv\/mfpgw\/current\/bin/m,
    );
    expect(passwdEntry(root, 'mfp-cloud')).toBeDefined();
    expect(read('etc/systemd/journald.conf.d/mfp-gateway.conf')).toMatch(/^Storage=persistent$/m);
  });

  it('produces a unit that systemd-analyze verifies inside the installed tree', () => {
    install();
    // A real root has the distribution's units (multi-user.target, …); borrow the host's.
    cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true });
    const run = spawnSync(
      'systemd-analyze',
      ['verify', '--man=no', `--root=${root}`, 'mfp-gateway.service'],
      {
        encoding: 'utf8',
      },
    );
    if (run.error) throw new Error(`systemd-analyze could not run (${run.error.message}): install systemd`);
    expect(`${run.stdout}${run.stderr}`.trim()).toBe('');
    expect(run.status).toBe(0);
  });

  it('uninstalls everything but config, state and user; --purge removes those too', () => {
    install();
    install('--uninstall');
    for (const gone of [
      'opt/mfp-gateway',
      'usr/local/bin/mfp-gateway',
      'etc/systemd/system/mfp-gateway.service',
      'etc/systemd/system/multi-user.target.wants/mfp-gateway.service',
      'etc/udev/rules.d/99-mfp-gateway-serial.rules',
      'etc/modules-load.d/mfp-gateway.conf',
      'etc/systemd/journald.conf.d/mfp-gateway.conf',
      'etc/systemd/system.conf.d/mfp-gateway-watchdog.conf',
    ]) {
      expect(existsSync(join(root, gone)), gone).toBe(false);
    }
    expect(read('boot/firmware/config.txt')).toBe(PI_CONFIG_TXT);
    expect(existsSync(join(root, 'etc/mfp-gateway'))).toBe(true);
    expect(passwdEntry(root, 'mfp-gateway')).toBeDefined();

    install('--uninstall', '--purge');
    expect(existsSync(join(root, 'etc/mfp-gateway'))).toBe(false);
    expect(existsSync(join(root, 'var/lib/mfp-gateway'))).toBe(false);
    expect(passwdEntry(root, 'mfp-gateway')).toBeUndefined();
  });

  it('refuses a directory that is not a release bundle', () => {
    const result = runScript(INSTALL_SH, ['--root', root]);
    expect(result.status).toBe(1);
    expect(result.output).toMatch(/not a release bundle.*npm run bundle/);
  });
});

describe('shell scripts under board/', () => {
  const scripts = spawnSync('grep', ['-rlE', '^#!.*\\b(ba)?sh\\b', join(REPO, 'board')], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean)
    .sort();

  it('include install.sh, update.sh, the launcher and the image stage', () => {
    const names = scripts.map((s) => s.slice(REPO.length));
    expect(names).toEqual(
      expect.arrayContaining([
        'board/install.sh',
        'board/update.sh',
        'board/bundle/launcher.sh',
        'board/image/stage-mfp-gateway/00-mfp-gateway/00-run.sh',
      ]),
    );
  });

  it('are shellcheck-clean', () => {
    const run = spawnSync('shellcheck', ['--external-sources', ...scripts], { encoding: 'utf8' });
    if (run.error)
      throw new Error(`shellcheck could not run (${run.error.message}): sudo bash .ci/install-peers.sh`);
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
