import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, bundleVersions } from '../../board/bundle/build-bundle.ts';
import { EXIT_CONFIG } from '../../src/cli/lifecycle.ts';
import { MALLOC_TRIM_ADDON } from '../../src/runtime/malloc-trim.ts';
import { type CloudHandle, scratchDir, startCloud, writeYaml } from '../support/chain.ts';
import { reapOnExit } from '../support/reap-on-exit.ts';

/**
 * The arm64 release bundle — what a Pi runs — under user-mode emulation (Debian's
 * qemu-user-static, with the arm64 cross C and C++ libraries as its root): its own Node
 * runs the bundled app. Few commands, since each costs seconds under emulation.
 */
const QEMU = '/usr/bin/qemu-aarch64-static';
const ARM64_LIBS = '/usr/aarch64-linux-gnu';
const EMULATED_MS = 120_000;

const scratch = scratchDir('arm64');
let app: string;
let cloud: CloudHandle | undefined;

beforeAll(async () => {
  if (!existsSync(QEMU) || !existsSync(join(ARM64_LIBS, 'lib/libstdc++.so.6'))) {
    throw new Error(
      `${QEMU} or the arm64 cross libraries are missing: sudo bash .ci/install-peers.sh (qemu-user-static, libc6-arm64-cross, libstdc++6-arm64-cross)`,
    );
  }
  const bundle = await buildBundle({ arch: 'arm64', outDir: join(scratch.dir, 'release') });
  const unpacked = join(scratch.dir, 'unpacked');
  mkdirSync(unpacked);
  const tar = spawn('tar', ['-xzf', bundle.tarball, '-C', unpacked]);
  await new Promise((resolve) => tar.on('exit', resolve));
  app = join(unpacked, bundle.name);
}, 300_000);

afterAll(async () => {
  await cloud?.proc.stop();
  scratch.cleanup();
});

/** Runs the bundle's Node on its app under qemu, as bin/mfp-gateway does on the board. */
function emulated(args: string[]): Promise<{ code: number | null; out: string }> {
  return emulatedNode([join(app, 'dist/mfp-gateway.js'), ...args]);
}

/** Runs the bundle's Node under qemu with these arguments. */
function emulatedNode(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(QEMU, ['-L', ARM64_LIBS, join(app, 'node/bin/node'), ...args], {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  reapOnExit(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

describe('the arm64 release bundle under qemu user emulation', () => {
  it('--version: the version, its commit, the bundled Node, linux-arm64', {
    timeout: EMULATED_MS,
  }, async () => {
    const { version, nodeVersion } = bundleVersions();
    const run = await emulated(['--version']);
    expect(run.code, run.out).toBe(0);
    expect(run.out.trim()).toMatch(
      new RegExp(
        `^mfp-gateway ${version} \\(commit [0-9a-f]{12}(-dirty)?\\) Node v${nodeVersion} linux-arm64$`,
      ),
    );
  });

  it('its malloc_trim addon is built for arm64 and trims under the bundled Node', {
    timeout: EMULATED_MS,
  }, async () => {
    const addon = join(app, 'dist', MALLOC_TRIM_ADDON);
    // An ELF header: class 64-bit, machine 183 (EM_AARCH64), little-endian.
    const header = readFileSync(addon).subarray(0, 20);
    expect([header[4], header.readUInt16LE(18)]).toEqual([2, 183]);
    const run = await emulatedNode(['-p', 'typeof require(process.argv[1]).trim()', addon]);
    expect(run.code, run.out).toBe(0);
    expect(run.out.trim()).toBe('boolean');
  });

  it('run --help', { timeout: EMULATED_MS }, async () => {
    const run = await emulated(['run', '--help']);
    expect(run.code, run.out).toBe(0);
    expect(run.out).toMatch(/^Usage: mfp-gateway run \[options\]/);
  });

  it(`run with a bad config exits ${EXIT_CONFIG} (EX_CONFIG), naming the key`, {
    timeout: EMULATED_MS,
  }, async () => {
    const config = writeYaml(scratch.dir, 'bad.yaml', {
      gateway: { id: 'gw1' },
      cloud: { url: 'http://nowhere' },
    });
    const run = await emulated(['run', '--config', config, '--setup-page', 'off']);
    expect(run.code, run.out).toBe(EXIT_CONFIG);
    expect(run.out).toMatch(/cloud\.url/);
  });

  it('doctor against a local cloud: every check passes', { timeout: EMULATED_MS }, async () => {
    cloud = await startCloud(scratch.dir);
    const config = writeYaml(scratch.dir, 'gateway.yaml', {
      gateway: { id: 'gw1', stateDir: join(scratch.dir, 'state') },
      cloud: { url: `ws://127.0.0.1:${cloud.port}/push`, token: cloud.gatewayToken },
      // Port 0: a port reserved with freePort() can be taken in the seconds qemu takes to start.
      status: { listen: { host: '127.0.0.1', port: 0 } },
    });
    const run = await emulated(['doctor', '--config', config, '--timeout', '30s']);
    expect(run.out).toMatch(/^ok +token +the cloud accepts gateway "gw1"/m);
    expect(run.out).toMatch(/^\d+ ok, 0 warnings, 0 failed, 0 skipped$/m);
    expect(run.code, run.out).toBe(0);
  });
});
