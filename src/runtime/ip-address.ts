import { isIP } from 'node:net';

/**
 * An IP literal as compared: zone dropped, lower case, and an IPv4-mapped IPv6 address
 * (`::ffff:127.0.0.1`, `::ffff:7f00:1`) as the IPv4 address it is; null for a non-address.
 */
export function canonicalIp(text: string): { address: string; family: 4 | 6 } | null {
  const bare = text.replace(/%.*$/, '').toLowerCase();
  const family = isIP(bare);
  if (family === 4) return { address: bare, family: 4 };
  if (family !== 6) return null;
  const groups = ipv6Groups(bare);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return { address: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, family: 4 };
  }
  return { address: bare, family: 6 };
}

/** The eight 16-bit groups of a valid IPv6 literal (no zone), an embedded IPv4 tail included. */
export function ipv6Groups(address: string): number[] {
  const [head = '', tail] = address.split('::');
  const part = (text: string) => (text === '' ? [] : text.split(':'));
  const expand = (list: string[]) =>
    list.flatMap((g) => {
      if (!g.includes('.')) return [Number.parseInt(g, 16)];
      const [a = 0, b = 0, c = 0, d = 0] = g.split('.').map(Number);
      return [(a << 8) | b, (c << 8) | d];
    });
  const left = expand(part(head));
  const right = tail === undefined ? [] : expand(part(tail));
  return [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
}

/**
 * The key a client counts under for per-source limits: its IPv4 address, or the /64 of its
 * IPv6 address (one host picks freely among the addresses of its /64: privacy addresses).
 */
export function sourceKey(address: string): string {
  const ip = canonicalIp(address);
  if (ip === null || ip.family === 4) return ip?.address ?? address;
  const prefix = ipv6Groups(ip.address)
    .slice(0, 4)
    .map((g) => g.toString(16));
  return `${prefix.join(':')}::/64`;
}
