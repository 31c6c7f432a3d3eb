import type { Agent } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { onDemand } from '../../runtime/on-demand.ts';
import { maskUrlCredentials } from '../../secrets/mask.ts';

/**
 * True when NO_PROXY (comma-separated hosts, ".suffix", "*", address ranges such as
 * "10.0.0.0/8" or "fd00::/8" — as curl and Go read them —, optional ":port") matches the target.
 */
export function bypassesProxy(target: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = target.port || (target.protocol === 'wss:' || target.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    if (entry.includes('/')) {
      if (inRange(host, entry)) return true;
      continue;
    }
    const [pattern, entryPort] = entry.startsWith('[')
      ? [entry.slice(1, entry.indexOf(']')), entry.split(']:')[1]]
      : entry.split(':');
    if (entryPort && entryPort !== port) continue;
    const suffix = (pattern ?? '').replace(/^\*?\./, '');
    if (host === suffix || host.endsWith(`.${suffix}`)) return true;
  }
  return false;
}

/** True when host is an IP address inside the range "address/prefix" (node's BlockList does the bit work). */
function inRange(host: string, range: string): boolean {
  const hostFamily = isIP(host);
  const [network = '', prefixText = ''] = range.split('/');
  const family = isIP(network);
  const prefix = Number(prefixText);
  if (hostFamily === 0 || family !== hostFamily || !/^\d+$/.test(prefixText)) return false;
  if (prefix > (family === 4 ? 32 : 128)) return false;
  const list = new BlockList();
  const type = family === 4 ? 'ipv4' : 'ipv6';
  list.addSubnet(network, prefix, type);
  return list.check(host, type);
}

/** The proxy to use for the cloud URL: the configured one, else HTTPS_PROXY, unless NO_PROXY matches. */
export function proxyFor(target: URL, configured: string | undefined, env: NodeJS.ProcessEnv): URL | null {
  const fromEnv = env.HTTPS_PROXY ?? env.https_proxy ?? env.ALL_PROXY ?? env.all_proxy;
  const chosen = configured ?? fromEnv;
  if (!chosen) return null;
  if (!configured && bypassesProxy(target, env.NO_PROXY ?? env.no_proxy)) return null;
  return new URL(chosen);
}

/** An agent that tunnels through an HTTP CONNECT proxy, with Basic auth from the URL's credentials. */
export function proxyAgent(proxy: URL): Agent {
  const { HttpsProxyAgent } = onDemand('https-proxy-agent');
  return new HttpsProxyAgent(proxy, { keepAlive: false });
}

/** The proxy URL with its password masked, for logs (src/secrets/mask.ts decides how). */
export function describeProxy(proxy: URL): string {
  return maskUrlCredentials(proxy.href);
}
