import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package version, read once from package.json (one level above src/ and dist/). */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Where the build records the commit it was built from, beside the bundled app's chunks. */
export const BUILD_INFO_FILE = 'build-info.json';

/** What a running copy is: version, the commit it was built from, its Node, its platform. */
export interface BuildInfo {
  version: string;
  /** `git describe --always --dirty` of the build (or of the checkout when run from source); "unknown" without git. */
  commit: string;
  node: string;
  platform: string;
}

/** The commit of the checkout at `dir` ("…-dirty" with local changes), or "unknown". */
export function gitCommit(dir: string): string {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty', '--abbrev=12'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

function builtCommit(): string {
  try {
    const recorded = JSON.parse(readFileSync(new URL(`./${BUILD_INFO_FILE}`, import.meta.url), 'utf8')) as {
      commit?: unknown;
    };
    if (typeof recorded.commit === 'string') return recorded.commit;
  } catch {
    // Not a build: run from source, where git knows the commit.
  }
  return gitCommit(fileURLToPath(new URL('..', import.meta.url)));
}

let info: BuildInfo | undefined;

/** This copy's build information; read on first use (it may run git), then kept. */
export function buildInfo(): BuildInfo {
  info ??= {
    version: VERSION,
    commit: builtCommit(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
  return info;
}

/** One line for `--version`, logs and bug reports: "mfp-gateway 0.1.0 (commit 3c2fbda) Node v24.21.0 linux-arm64". */
export function versionLine(): string {
  const b = buildInfo();
  return `mfp-gateway ${b.version} (commit ${b.commit}) Node ${b.node} ${b.platform}`;
}
