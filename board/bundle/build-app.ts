/**
 * Builds the app that ships: src/ bundled with its dependencies into a few ES modules in
 * dist/ (rolldown), plus the status page's static files. One bundle instead of the
 * hundreds of modules tsc emits and node_modules holds: each loaded module costs Node a
 * module record, its own source string and loader bookkeeping, and on the gateway that was
 * 8 MB of its idle RSS (94.5 → 86.7 MB, bench:tunnel's measure). Not minified, so stack
 * traces in the logs keep their names and lines.
 *
 *   node board/bundle/build-app.ts [OUT_DIR]     (npm run build: dist/)
 *
 * Left out of the bundle and loaded from node_modules at run time: the packages a site
 * needs only for some features (src/runtime/on-demand.ts), serialport's native binding
 * among them. Every chunk sits in OUT_DIR itself, so `import.meta.url`-relative paths
 * match src/'s depth where it matters: ../package.json and ./build-info.json (src/version.ts)
 * and ./public/ (the status page's files, copied to OUT_DIR/public), and ./malloc-trim.node
 * (src/runtime/malloc-trim.ts), compiled for the target by build-native.ts.
 */
import { cpSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'rolldown';
import { MALLOC_TRIM_ADDON } from '../../src/runtime/malloc-trim.ts';
import { ON_DEMAND_PACKAGES } from '../../src/runtime/on-demand.ts';
import { BUILD_INFO_FILE, gitCommit } from '../../src/version.ts';
import { type Arch, buildMallocTrim, hostArch } from './build-native.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The file `bin/mfp-gateway` and package.json's bin run, relative to the output directory. */
export const APP_ENTRY = 'mfp-gateway.js';

/**
 * `charset: 'ascii'` escapes the code but leaves the licence comments it keeps as they are;
 * one accented name in one of them would make its whole chunk a two-byte string again.
 * Escaping inside a comment changes nothing but the comment's spelling.
 */
const asciiLegalComments: Plugin = {
  name: 'ascii-legal-comments',
  renderChunk: (code) =>
    code.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
};

/**
 * The status page's ES modules as one minified app.js: served from a checkout as they are
 * (one request each, their JSDoc types and comments included), but shipped as one file,
 * 7 KB gzipped instead of 14 modules and 16.5 KB. The other modules are removed from
 * publicDir: app.js holds them now.
 */
async function bundlePage(entry: string, publicDir: string): Promise<void> {
  const out = join(publicDir, 'app.js');
  await build({
    input: entry,
    platform: 'browser',
    logLevel: 'warn',
    output: { file: out, format: 'esm', minify: true },
  });
  for (const name of readdirSync(publicDir)) {
    if (name.endsWith('.js') && name !== 'app.js') rmSync(join(publicDir, name));
  }
}

/** Builds the app into outDir (emptied first), its native addon for arch (the build host's by default). */
export async function buildApp(outDir: string, repo = REPO, arch: Arch = hostArch()): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  await build({
    input: { 'mfp-gateway': join(repo, 'src/cli/main.ts') },
    platform: 'node',
    // Loaded from node_modules on first use, never bundled.
    external: (id) => ON_DEMAND_PACKAGES.some((name) => id === name || id.startsWith(`${name}/`)),
    logLevel: 'warn',
    plugins: [asciiLegalComments],
    output: {
      dir: outDir,
      format: 'esm',
      charset: 'ascii',
      comments: { legal: true, annotation: true, jsdoc: false },
      entryFileNames: '[name].js',
      chunkFileNames: '[name]-[hash].js',
    },
  });
  cpSync(join(repo, 'src/gateway/status/public'), join(outDir, 'public'), { recursive: true });
  await bundlePage(join(repo, 'src/gateway/status/public/app.js'), join(outDir, 'public'));
  buildMallocTrim(join(outDir, MALLOC_TRIM_ADDON), arch, repo);
  // `--version` and bug reports name the commit; the board has no git to ask.
  writeFileSync(join(outDir, BUILD_INFO_FILE), `${JSON.stringify({ commit: gitCommit(repo) })}\n`);
}

if (import.meta.main) {
  await buildApp(resolve(process.argv[2] ?? join(REPO, 'dist')));
}
