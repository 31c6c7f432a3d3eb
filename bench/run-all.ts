/**
 * Runs every benchmark script in bench/ (each *.ts beside this file, except this one), one after
 * the other with the same Node, and fails if any of them fails.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './support/bench-args.ts';

benchArgs(import.meta.url, {});

const here = fileURLToPath(import.meta.url);
const benchDir = dirname(here);
const scripts = readdirSync(benchDir, { withFileTypes: true })
  .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && entry.name !== basename(here))
  .map((entry) => entry.name)
  .sort();

const failed: string[] = [];
for (const script of scripts) {
  console.log(`\n=== bench/${script}`);
  const run = spawnSync(process.execPath, [join(benchDir, script)], { stdio: 'inherit' });
  if (run.status !== 0) failed.push(script);
}
if (failed.length > 0) {
  console.error(`\nfailed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
