import { BlockList } from 'node:net';
import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os';
import { canonicalIp } from '../../runtime/ip-address.ts';

/** One allow rule: an address range and the ports open in it. */
export interface AllowRule {
  cidr: string;
  ports: readonly number[];
}

/** The verdict on a tunnel target. */
export type AllowVerdict =
  | { allowed: true }
  | { allowed: false; code: 'NOT_ALLOWED' | 'BAD_TARGET'; reason: string };

export interface AllowListOptions {
  /**
   * `tunnels.allowLocal`: let rules reach this box itself (loopback, its own addresses);
   * labs and tests only, where the "LAN devices" run on the gateway's own host.
   */
  allowLocal?: boolean;
  /** The host's interfaces (injected by tests). */
  interfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
}

/** Rules at least this wide are warned about (a /8 of IPv4, a /32 of IPv6 is more than a LAN). */
const WIDE_PREFIX = { 4: 16, 6: 48 } as const;

/**
 * Addresses that are never a LAN device, whatever the rules say: loopback and unspecified
 * (they reach the gateway's own services: its status page, its control endpoints), link-local
 * (cloud metadata, the box's neighbours without a configured address) and broadcast.
 */
const NEVER = (() => {
  const list = new BlockList();
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  list.addSubnet('0.0.0.0', 8, 'ipv4');
  list.addSubnet('169.254.0.0', 16, 'ipv4');
  list.addAddress('255.255.255.255', 'ipv4');
  list.addAddress('::1', 'ipv6');
  list.addAddress('::', 'ipv6');
  list.addSubnet('fe80::', 10, 'ipv6');
  return list;
})();

/**
 * The LAN targets the cloud may open tunnels to: deny by default, allow address ranges and
 * ports from config. Targets must be IP literals, so a DNS answer cannot steer a tunnel
 * somewhere the rules did not mean. An IPv4-mapped IPv6 target is the IPv4 address it is,
 * and a rule applies to its own family only (Node's BlockList lets `::/0` or
 * `::ffff:0:0/96` match IPv4 addresses, 127.0.0.1 included). The box itself — loopback,
 * unspecified, link-local, its own addresses — is refused whatever the rules say.
 */
export class TunnelAllowList {
  private readonly rules: Array<{
    list: BlockList;
    family: 4 | 6;
    prefix: number;
    ports: Set<number>;
    text: string;
  }>;
  private readonly allowLocal: boolean;
  private readonly interfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]>;

  constructor(rules: readonly AllowRule[], options: AllowListOptions = {}) {
    this.allowLocal = options.allowLocal ?? false;
    this.interfaces = options.interfaces ?? networkInterfaces;
    this.rules = rules.map((rule) => {
      const [address = '', prefix] = rule.cidr.split('/');
      const ip = canonicalIp(address);
      const family = ip?.family ?? 4;
      const list = new BlockList();
      // A mapped rule (::ffff:192.168.1.0/120) is the IPv4 rule it means.
      const bits = Number(prefix ?? (family === 6 ? 128 : 32));
      const mappedBits = ip && ip.family === 4 && address.includes(':') ? Math.max(0, bits - 96) : bits;
      list.addSubnet(ip?.address ?? address, mappedBits, family === 6 ? 'ipv6' : 'ipv4');
      return { list, family, prefix: mappedBits, ports: new Set(rule.ports), text: rule.cidr };
    });
  }

  /** Rules wide enough to be worth a warning at load (a /8 of IPv4 is not "the printers"). */
  wideRules(): string[] {
    return this.rules.filter((r) => r.prefix < WIDE_PREFIX[r.family]).map((r) => r.text);
  }

  /** Whether a tunnel to host:port may be opened. */
  check(host: string, port: number): AllowVerdict {
    const ip = canonicalIp(host);
    if (ip === null) {
      return {
        allowed: false,
        code: 'BAD_TARGET',
        reason: `"${host}" is not an IP address; tunnels go to addresses only`,
      };
    }
    const type = ip.family === 6 ? 'ipv6' : 'ipv4';
    if (!this.allowLocal && (NEVER.check(ip.address, type) || this.isOwn(ip.address))) {
      return {
        allowed: false,
        code: 'NOT_ALLOWED',
        reason: `${host} is the gateway itself (loopback, link-local or one of its own addresses): never a tunnel target`,
      };
    }
    for (const rule of this.rules) {
      if (rule.family === ip.family && rule.ports.has(port) && rule.list.check(ip.address, type)) {
        return { allowed: true };
      }
    }
    return {
      allowed: false,
      code: 'NOT_ALLOWED',
      reason: `${host}:${port} is not on the gateway's tunnel allow-list`,
    };
  }

  private isOwn(address: string): boolean {
    return Object.values(this.interfaces())
      .flatMap((list) => list ?? [])
      .some((i) => canonicalIp(i.address)?.address === address);
  }
}
