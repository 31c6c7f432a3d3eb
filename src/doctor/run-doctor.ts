import type { Clock } from '../clock/clock.ts';
import { ConfigError, describeIssue } from '../config/config-error.ts';
import { type GatewayConfig, loadGatewayConfig } from '../config/gateway-config.ts';
import { type CloudAccess, cloudAccess } from '../gateway/link/cloud-access.ts';
import { type CheckResult, skipped } from './check-result.ts';
import {
  type CheckContext,
  type CloudTarget,
  checkDns,
  checkPathTlsClock,
  checkToken,
} from './cloud-checks.ts';
import { checkDevice } from './device-checks.ts';
import { checkListen } from './listen-checks.ts';

export interface DoctorOptions {
  configFile: string;
  clock: Clock;
  /** Longest wait for any one answer (DNS, proxy, cloud, device). */
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
}

/** The config check: the file as `run` would read it, every problem listed. */
function checkConfig(file: string, env: NodeJS.ProcessEnv): { result: CheckResult; config?: GatewayConfig } {
  try {
    const config = loadGatewayConfig(file, { env });
    const devices = config.devices.length;
    return {
      config,
      result: {
        check: 'config',
        status: 'ok',
        message: `${file} is valid: gateway "${config.gateway.id}", ${devices} device${devices === 1 ? '' : 's'}`,
      },
    };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return {
      result: {
        check: 'config',
        status: 'fail',
        message: `${file} cannot be used: ${err.issues.length} problem${err.issues.length === 1 ? '' : 's'} (run would exit with status 78)`,
        fix: 'correct each key listed above',
        details: err.issues.map(describeIssue),
      },
    };
  }
}

/** How `run` reaches the cloud with this config and environment (its own cloudAccess). */
function cloudTarget(config: GatewayConfig, env: NodeJS.ProcessEnv): CloudTarget | CheckResult {
  let access: CloudAccess;
  try {
    access = cloudAccess(config.cloud, env);
  } catch (err) {
    return {
      check: 'tls',
      status: 'fail',
      message: `cloud.caFile ${config.cloud.caFile} cannot be read (${(err as NodeJS.ErrnoException).code})`,
      fix: 'give the path of the cloud’s CA certificate (PEM), readable by the service',
    };
  }
  const url = new URL(config.cloud.url);
  return {
    url,
    proxy: access.proxy,
    agent: access.agentFor(url),
    ca: access.ca,
    caFile: config.cloud.caFile,
    gatewayId: config.gateway.id,
    token: config.cloud.token,
  };
}

/**
 * `mfp-gateway doctor`: checks, in order, the config, the way to the cloud (DNS, proxy,
 * TLS, clock), the cloud's verdict on the token, each device and the page's ports. A
 * check that needs an earlier one that failed is skipped, not failed again.
 */
export async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
  const env = options.env ?? process.env;
  const ctx: CheckContext = { clock: options.clock, timeoutMs: options.timeoutMs };
  const { result, config } = checkConfig(options.configFile, env);
  if (!config) {
    return [result, skipped('the rest', 'the config is not valid')];
  }
  const results: CheckResult[] = [result];
  const target = cloudTarget(config, env);
  // Devices and ports do not depend on the cloud: check them meanwhile.
  const local = Promise.all([
    ...config.devices.map((d) => checkDevice(ctx, d)),
    config.status.enabled
      ? checkListen(ctx, 'status-page', 'status.listen', config.status.listen)
      : Promise.resolve<CheckResult>({
          check: 'status-page',
          status: 'skip',
          message: 'status.enabled is false',
        }),
    ...(config.pushProxy
      ? [checkListen(ctx, 'push-proxy', 'pushProxy.listen', config.pushProxy.listen)]
      : []),
  ]);
  if ('check' in target) {
    results.push(target, skipped('token', 'cloud.caFile cannot be read'));
  } else {
    const dns = await checkDns(ctx, target);
    results.push(dns);
    if (dns.status === 'fail') {
      results.push(
        skipped(target.proxy ? 'proxy' : 'connect', 'the name does not resolve'),
        skipped('token', 'the name does not resolve'),
      );
    } else {
      const path = await checkPathTlsClock(ctx, target);
      results.push(...path);
      const broken = path.find((r) => r.status === 'fail' && r.check !== 'clock');
      results.push(
        broken ? skipped('token', `the ${broken.check} check failed`) : await checkToken(ctx, target),
      );
    }
  }
  results.push(...(await local));
  return results;
}
