/**
 * Builds the one native module of our own: src/runtime/native/malloc-trim.c, a Node-API addon
 * that calls glibc's malloc_trim (src/runtime/malloc-trim.ts says why). C with no
 * dependencies, compiled by the system's C compiler, or Debian's cross compiler for the other
 * architecture (gcc-aarch64-linux-gnu builds the Pi's); the Node-API headers come with the
 * `node` dev dependency. No node-gyp: one source file and one compiler call need no project
 * generator, and node-gyp would download Node's headers, which the build has no network for.
 *
 *   node board/bundle/build-native.ts [OUT_FILE] [--arch x64|arm64]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MALLOC_TRIM_ADDON } from '../../src/runtime/malloc-trim.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The architectures a bundle is built for (the Pi's arm64, and x64). */
export const ARCHES = ['x64', 'arm64'] as const;
export type Arch = (typeof ARCHES)[number];

/** This machine's architecture, when a bundle can be built for it; throws otherwise. */
export function hostArch(): Arch {
  const arch = ARCHES.find((a) => a === process.arch);
  if (!arch) throw new Error(`the app builds on ${ARCHES.join(' or ')}, not ${process.arch}`);
  return arch;
}

/** The C compiler that builds for arch: the system's for its own, Debian's cross compiler for the other. */
function compilerFor(arch: Arch): string {
  if (arch === process.arch) return process.env.CC ?? 'cc';
  return arch === 'arm64' ? 'aarch64-linux-gnu-gcc' : 'x86_64-linux-gnu-gcc';
}

/** The Debian package that has compilerFor(arch)'s compiler, for the error that names it. */
function compilerPackage(arch: Arch): string {
  if (arch === process.arch) return 'gcc libc6-dev';
  return arch === 'arm64' ? 'gcc-aarch64-linux-gnu libc6-dev-arm64-cross' : 'gcc-x86-64-linux-gnu';
}

/** Node-API's headers, from the `node` dev dependency's own runtime package. */
function nodeApiHeaders(repo = REPO): string {
  const runtimes = join(repo, 'node_modules/node/node_modules');
  const found = existsSync(runtimes)
    ? readdirSync(runtimes)
        .map((name) => join(runtimes, name, 'include/node'))
        .find((dir) => existsSync(join(dir, 'node_api.h')))
    : undefined;
  if (!found) throw new Error(`Node-API headers not found under ${runtimes}: run npm ci`);
  return found;
}

/** Compiles the malloc_trim addon for arch into outFile; throws, naming what to install, when it cannot. */
export function buildMallocTrim(outFile: string, arch: Arch, repo = REPO): void {
  const compiler = compilerFor(arch);
  mkdirSync(dirname(outFile), { recursive: true });
  const result = spawnSync(
    compiler,
    [
      '-O2',
      '-shared',
      '-fPIC',
      '-s',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-I',
      nodeApiHeaders(repo),
      '-o',
      outFile,
      join(repo, 'src/runtime/native/malloc-trim.c'),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (result.error) {
    throw new Error(
      `building ${MALLOC_TRIM_ADDON} for ${arch} needs the C compiler ${compiler}: ${result.error.message} ` +
        `(Debian: apt-get install ${compilerPackage(arch)})`,
    );
  }
  if (result.status !== 0) {
    throw new Error(
      `${compiler} failed (exit ${result.status}) on malloc-trim.c:\n${result.stderr.slice(-3000)}`,
    );
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    options: { arch: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write('Usage: node board/bundle/build-native.ts [OUT_FILE] [--arch x64|arm64]\n');
    process.exit(0);
  }
  const arch = values.arch === undefined ? hostArch() : ARCHES.find((a) => a === values.arch);
  if (!arch) {
    process.stderr.write(`--arch must be one of ${ARCHES.join(', ')}, not ${values.arch}\n`);
    process.exit(2);
  }
  const out = resolve(positionals[0] ?? join(REPO, 'dist', MALLOC_TRIM_ADDON));
  buildMallocTrim(out, arch);
  process.stdout.write(`${out}\n`);
}
