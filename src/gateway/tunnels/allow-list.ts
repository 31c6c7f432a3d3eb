import { BlockList, isIP } from 'node:net';

/** One allow rule: an address range and the ports open in it. */
export interface AllowRule {
  cidr: string;
  ports: readonly number[];
}

/** The verdict on a tunnel target. */
export type AllowVerdict =
  | { allowed: true }
  | { allowed: false; code: 'NOT_ALLOWED' | 'BAD_TARGET'; reason: string };

/**
 * The LAN targets the cloud may open tunnels to: deny by default, allow address ranges and
 * ports from config. Targets must be IP literals, so a DNS answer cannot steer a tunnel
 * somewhere the rules did not mean.
 */
export class TunnelAllowList {
  private readonly rules: Array<{ list: BlockList; ports: Set<number>; text: string }>;

  constructor(rules: readonly AllowRule[]) {
    this.rules = rules.map((rule) => {
      const [address, prefix] = rule.cidr.split('/');
      const family = isIP(address ?? '') === 6 ? 'ipv6' : 'ipv4';
      const list = new BlockList();
      list.addSubnet(address ?? '', Number(prefix ?? (family === 'ipv6' ? 128 : 32)), family);
      return { list, ports: new Set(rule.ports), text: rule.cidr };
    });
  }

  /** Whether a tunnel to host:port may be opened. */
  check(host: string, port: number): AllowVerdict {
    const family = isIP(host);
    if (family === 0) {
      return {
        allowed: false,
        code: 'BAD_TARGET',
        reason: `"${host}" is not an IP address; tunnels go to addresses only`,
      };
    }
    const type = family === 6 ? 'ipv6' : 'ipv4';
    for (const rule of this.rules) {
      if (rule.ports.has(port) && rule.list.check(host, type)) return { allowed: true };
    }
    return {
      allowed: false,
      code: 'NOT_ALLOWED',
      reason: `${host}:${port} is not on the gateway's tunnel allow-list`,
    };
  }
}
