/**
 * The chain the tunnel benchmarks run through: the reference cloud in the bench's process and a
 * real `mfp-gateway run` process as shipped (bench/support/shipped-gateway.ts) on loopback, its
 * two push lines up, allowed to open tunnels to the given loopback ports.
 */
import { startCloudServer } from '../../src/cloud/cloud-server.ts';
import { parseCloudConfig } from '../../src/config/cloud-config.ts';
import { silentLogger } from '../../src/log/logger.ts';
import { INITIAL_WINDOW } from '../../src/protocol/tunnel/frame-types.ts';
import { scratchDir, secret, startGatewayProcess } from '../../test/support/chain.ts';
import { listeningPort } from '../../test/support/cli-process.ts';
import type { shippedGateway } from './shipped-gateway.ts';

export interface TunnelChainOptions {
  /** Loopback ports the gateway may open tunnels to (its allow-list). */
  ports: number[];
  /** The gateway's tunnels.maxConcurrent. */
  maxConcurrent: number;
}

/** Starts the cloud and the gateway process; resolves once both push lines are up. */
export async function startTunnelChain(
  { launch, env }: ReturnType<typeof shippedGateway>,
  { ports, maxConcurrent }: TunnelChainOptions,
) {
  const { dir, cleanup } = scratchDir('bench-tunnel');
  process.once('exit', cleanup);
  const gatewayToken = secret();
  const cloud = await startCloudServer(
    parseCloudConfig({
      listen: { host: '127.0.0.1', port: 0 },
      api: { token: secret() },
      gateways: [{ id: 'gw1', token: gatewayToken }],
      store: { path: ':memory:' },
    }),
    { logger: silentLogger() },
  );
  const gateway = startGatewayProcess(
    dir,
    { url: `ws://127.0.0.1:${cloud.port}/push`, token: gatewayToken },
    {
      log: { level: 'info' },
      // The shipped keep-alive timings, not the test helper's 1 s answer timeout: with 100
      // streams filling the line on a loaded machine an answer can take longer than that.
      keepalive: {},
      // Port 0, read back from the log: a freePort() one could be taken before the gateway binds it.
      status: { listen: { host: '127.0.0.1', port: 0 }, metrics: 'open' },
      tunnels: {
        allow: [{ cidr: '127.0.0.1/32', ports }],
        allowLocal: true,
        maxConcurrent,
        // The least the gateway accepts for that many tunnels: one initial window each.
        memoryCap: maxConcurrent * INITIAL_WINDOW,
      },
    },
    { ...env, MFPGW_LOG_LEVEL: 'info' },
    launch,
  );
  const stop = async () => {
    await gateway.stop();
    await cloud.stop();
    process.off('exit', cleanup);
    cleanup();
  };
  try {
    const statusPort = await listeningPort(gateway, 'status page listening');
    await gateway.waitFor((l) => l.msg === 'line open' && l.line === 'line-1', 20_000, 'both push lines up');
    const line = cloud.push.directory.lines('gw1', 'push').find((l) => l.tunnels);
    if (!line?.tunnels) throw new Error('the gateway is connected but no push line carries tunnels');
    return { gateway, pid: gateway.child.pid as number, statusPort, tunnels: line.tunnels, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export type TunnelChain = Awaited<ReturnType<typeof startTunnelChain>>;
