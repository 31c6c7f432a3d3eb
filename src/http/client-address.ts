import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/**
 * Where a request really came from when the cloud sits behind load balancers or reverse
 * proxies: the peer address, unless that peer is a trusted proxy — then the nearest address in
 * X-Forwarded-For that is not one of them (each proxy appends the address it saw, so entries
 * left of the last untrusted one could be forged by the client). With no trusted proxies the
 * header is ignored: anyone could send it.
 */
export class ClientAddress {
  private readonly trusted = new BlockList();
  private readonly any: boolean;

  /** trustedProxies: addresses or CIDR ranges ("10.0.0.0/8", "fd00::/8", "127.0.0.1"). */
  constructor(trustedProxies: readonly string[] = []) {
    for (const entry of trustedProxies) {
      const { address, prefix, family } = parseRange(entry);
      this.trusted.addSubnet(address, prefix, family);
    }
    this.any = trustedProxies.length > 0;
  }

  /** The client's address for a request (null when the socket has none, e.g. already closed). */
  of(req: IncomingMessage): string | null {
    const peer = req.socket.remoteAddress;
    if (peer === undefined) return null;
    let address = unmapped(peer);
    if (!this.any || !this.isTrusted(address)) return address;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h !== '');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = unmapped(hops[i] as string);
      // Garbage in the chain: trust nothing left of it, keep the last address vouched for.
      if (isIP(hop) === 0) return address;
      address = hop;
      if (!this.isTrusted(hop)) return hop;
    }
    return address;
  }

  private isTrusted(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }
}

/** Validates an address or CIDR range; throws a message a config error can carry. */
export function parseRange(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [address = '', prefixText, extra] = entry.split('/');
  const version = isIP(address);
  const max = version === 6 ? 128 : 32;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (version === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max)
    throw new Error(`"${entry}" is not an IP address or CIDR range (e.g. 10.0.0.0/8)`);
  return { address, prefix, family: version === 6 ? 'ipv6' : 'ipv4' };
}

/** "::ffff:192.0.2.1" (an IPv4 peer on a dual-stack socket) as "192.0.2.1". */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
