import { cpSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Files the compiled app reads at run time that tsc does not emit: the status page's assets. */
const STATIC_ASSETS = ['gateway/status/public'];

/** Copies the static assets from src/ into a compiled dist/ tree (npm run build, and the bundle). */
export function copyStaticAssets(repo: string, distDir: string): void {
  for (const dir of STATIC_ASSETS) {
    cpSync(join(repo, 'src', dir), join(distDir, dir), { recursive: true });
  }
}

if (import.meta.main) {
  copyStaticAssets(process.cwd(), resolve(process.argv[2] ?? 'dist'));
}
