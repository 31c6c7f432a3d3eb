import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildBundle, bundleVersions, parseBundleArgs } from '../../board/bundle/build-bundle.ts';
import { MALLOC_TRIM_ADDON } from '../../src/runtime/malloc-trim.ts';
import { type CloudHandle, scratchDir, startCloud, writeYaml } from '../support/chain.ts';
import { eventually, followCli, listeningPort } from '../support/cli-process.ts';
import { makeRootfs, runScript } from './rootfs.ts';

/** What a bare board offers: no Node, no repo, no npm on the PATH. */
const BARE_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };

function runBare(command: string, args: string[], cwd: string): string {
  const run = spawnSync(command, args, { cwd, env: BARE_ENV, encoding: 'utf8' });
  expect(run.status, `${command} ${args.join(' ')}: ${run.stderr}`).toBe(0);
  return run.stdout.trim();
}

const scratch = scratchDir('bundle');
const running: ChildProcess[] = [];
let cloud: CloudHandle | undefined;
afterAll(async () => {
  for (const child of running) child.kill('SIGKILL');
  await cloud?.proc.stop();
  scratch.cleanup();
});

describe('npm run bundle', () => {
  it('takes --arch x64 or arm64 and refuses anything else', () => {
    expect(parseBundleArgs(['--arch', 'arm64', '--out', '/tmp/r'])).toEqual({
      arch: 'arm64',
      outDir: '/tmp/r',
    });
    expect(() => parseBundleArgs(['--arch', 'armhf'])).toThrow(/--arch must be one of x64, arm64/);
  });

  it('builds an x64 bundle that runs from the unpacked tarball alone', { timeout: 180_000 }, async () => {
    const { version, nodeVersion } = bundleVersions();
    const bundle = await buildBundle({ arch: 'x64', outDir: join(scratch.dir, 'release') });
    expect(basename(bundle.tarball)).toBe(`mfp-gateway-${version}-linux-x64.tar.gz`);
    runBare('sha256sum', ['--check', basename(bundle.checksumFile)], dirname(bundle.tarball));

    const unpacked = join(scratch.dir, 'unpacked');
    mkdirSync(unpacked);
    runBare('tar', ['-xzf', bundle.tarball, '-C', unpacked], unpacked);
    const app = join(unpacked, bundle.name);
    expect(readFileSync(join(app, 'VERSION'), 'utf8').trim()).toBe(version);
    expect(runBare(join(app, 'node/bin/node'), ['--version'], unpacked)).toBe(`v${nodeVersion}`);
    expect(readdirSync(join(app, 'node_modules/@serialport/bindings-cpp/prebuilds'))).toEqual(['linux-x64']);
    expect(readdirSync(join(app, 'node_modules'))).not.toContain('vitest');
    // The status page's static files are no modules: the build must copy them beside the chunks.
    expect(readdirSync(join(app, 'dist/public'))).toContain('index.html');

    // The commit comes from the build (build-info.json): the board has no git to ask.
    expect(runBare(join(app, 'bin/mfp-gateway'), ['--version'], unpacked)).toMatch(
      new RegExp(
        `^mfp-gateway ${version} \\(commit [0-9a-f]{12}(-dirty)?\\) Node v${nodeVersion} linux-x64$`,
      ),
    );

    // The daemon from the bundle, against the test cloud, until its push lines are up.
    cloud = await startCloud(scratch.dir);
    const config = writeYaml(scratch.dir, 'gateway.yaml', {
      gateway: { id: 'gw1', domain: 'a.test.example.co.jp', stateDir: join(scratch.dir, 'state') },
      cloud: { url: `ws://127.0.0.1:${cloud.port}/push`, token: cloud.gatewayToken, stagger: '300ms' },
      // Port 0, read back from the log: a port reserved with freePort() is free again until the
      // daemon binds it, and on a busy CI machine another process's bind can take it.
      status: { listen: { host: '127.0.0.1', port: 0 }, auth: 'none' },
    });
    const daemon = followCli(
      spawn(join(app, 'bin/mfp-gateway'), ['run', '--config', config], {
        cwd: unpacked,
        env: { ...BARE_ENV, MFPGW_BOOT_CONFIG: join(scratch.dir, 'no-boot-config.yaml') },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    running.push(daemon.child);
    const api = cloud.api.bind(cloud);
    const state = await eventually(
      async () => (await api<{ connections: { role: string }[] }>('/api/v1/gateways/gw1')).body,
      (s) => s.connections.filter((c) => c.role === 'push').length === 2 || daemon.child.exitCode !== null,
      30_000,
      'both push lines of the bundled daemon',
    );
    expect(daemon.child.exitCode, daemon.stderr()).toBeNull();
    expect(state.connections.filter((c) => c.role === 'push')).toHaveLength(2);
    // The daemon trims glibc's heap with the addon the bundle built for it (it starts before the lines).
    expect(readFileSync(`/proc/${daemon.child.pid}/maps`, 'utf8')).toContain(
      join(app, 'dist', MALLOC_TRIM_ADDON),
    );
    // The status page from the bundled app: its page, its own and uPlot's files, its metrics.
    const statusPort = await listeningPort(daemon, 'status page listening');
    const page = (path: string) => fetch(`http://127.0.0.1:${statusPort}${path}`);
    const index = await page('/');
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('<html');
    for (const asset of ['/assets/app.js', '/assets/app.css', '/assets/uplot.js']) {
      expect((await page(asset)).status, asset).toBe(200);
    }
    // The page's modules ship as one minified app.js that imports nothing.
    expect(await (await page('/assets/app.js')).text()).not.toMatch(/\bfrom\s*["']\.\//);
    expect((await page('/assets/live.js')).status).toBe(404);
    expect(await (await page('/metrics')).text()).toMatch(/^mfpgw_/m);
    expect(await daemon.stop()).toBe(0);

    // The same bundle installs into an image tree, and runs from there.
    const root = join(scratch.dir, 'root');
    makeRootfs(root);
    const install = runScript(join(app, 'board/install.sh'), ['--root', root]);
    expect(install.status, install.output).toBe(0);
    expect(runBare(join(root, 'opt/mfp-gateway/current/bin/mfp-gateway'), ['--version'], root)).toMatch(
      new RegExp(`^mfp-gateway ${version} `),
    );
  });
});
