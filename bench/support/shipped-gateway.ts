/**
 * How a benchmark starts the gateway (or the cloud) as it ships: the compiled app (dist/, what
 * the release bundle's launcher runs, not the TypeScript) with the environment the systemd unit
 * gives it (NODE_OPTIONS with its V8 limits, MALLOC_ARENA_MAX, NODE_ENV).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { APP_ENTRY } from '../../board/bundle/build-app.ts';
import type { CliLaunch } from '../../test/support/cli-process.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The `Environment=NAME=value` settings of systemd/mfp-gateway.service. */
export function unitEnvironment(unitFile = `${REPO}systemd/mfp-gateway.service`): Record<string, string> {
  const env: Record<string, string> = {};
  // One assignment per line here, optionally quoted whole: Environment="NAME=a b".
  for (const [, name, value] of readFileSync(unitFile, 'utf8').matchAll(
    /^Environment="?([A-Z_]+)=(.*?)"?$/gm,
  )) {
    if (name && value !== undefined) env[name] = value;
  }
  return env;
}

/** Compiles the app (npm run build) and returns its entry, dist/mfp-gateway.js. */
function build(): string {
  const build = spawnSync('npm', ['run', 'build'], { cwd: REPO, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
  return `${REPO}dist/${APP_ENTRY}`;
}

/**
 * The unit's environment with BENCH_GATEWAY_ENV's `NAME=value` settings (space-separated) added
 * or put in place: how a bench tries a malloc or V8 setting before it goes into the unit.
 */
export function withBenchOverrides(
  env: Record<string, string>,
  overrides = process.env.BENCH_GATEWAY_ENV,
): Record<string, string> {
  const result = { ...env };
  for (const setting of overrides?.split(' ').filter(Boolean) ?? []) {
    const at = setting.indexOf('=');
    if (at <= 0) throw new Error(`BENCH_GATEWAY_ENV: "${setting}" is not NAME=value`);
    result[setting.slice(0, at)] = setting.slice(at + 1);
  }
  return result;
}

/**
 * Compiles the app (npm run build) and says how to launch the result as the unit does, with
 * BENCH_GATEWAY_ENV's settings on top and BENCH_GATEWAY_NODE_ARGS (space-separated) on node's
 * command line, e.g. '--cpu-prof' or a V8 flag that NODE_OPTIONS does not take.
 */
export function shippedGateway(): { launch: CliLaunch; env: Record<string, string> } {
  const nodeArgs = process.env.BENCH_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  return {
    launch: { entry: build(), ...(nodeArgs.length > 0 ? { nodeArgs } : {}) },
    env: withBenchOverrides(unitEnvironment()),
  };
}

/** Compiles the app and says how to launch `mfp-gateway cloud` as its unit does. */
export function shippedCloud(): { entry: string; env: Record<string, string> } {
  return { entry: build(), env: unitEnvironment(`${REPO}systemd/mfp-gateway-cloud.service`) };
}
