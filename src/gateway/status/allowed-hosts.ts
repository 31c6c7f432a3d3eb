import { isIP } from 'node:net';
import { hostname, type NetworkInterfaceInfo, networkInterfaces } from 'node:os';
import { canonicalIp } from '../../runtime/ip-address.ts';

export interface AllowedHostsOptions {
  /** DNS names the page is reached by (`status.hostnames`). */
  names: readonly string[];
  /** The host's interfaces (injected by tests). */
  interfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** The box's host name (injected by tests). */
  hostname?: string;
}

/**
 * The names a request to the page may carry in `Host` (and a browser in `Origin`): the box's
 * own IP addresses, `localhost`, its host name bare and in `.local` (mDNS: how a first boot
 * is often reached, before any name can be configured) and the configured names. A web page
 * that rebinds its own DNS name to the box's address still sends its own name, so it is
 * refused (DNS rebinding): none of these is a name an outside site controls.
 */
export class AllowedHosts {
  private readonly names: Set<string>;
  private readonly interfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  private addresses: Set<string>;

  constructor(options: AllowedHostsOptions) {
    const own = canonicalName(options.hostname ?? hostname());
    this.names = new Set(['localhost', own, `${own}.local`, ...options.names.map(canonicalName)]);
    this.interfaces = options.interfaces ?? networkInterfaces;
    this.addresses = this.readAddresses();
  }

  /** Whether a `Host` header (name or address, with or without port) names this box. */
  allowsHost(header: string | undefined): boolean {
    const host = header === undefined ? null : hostOf(header);
    return host !== null && this.allows(host);
  }

  /** Whether an `Origin` header is a page of this box (http or https, any port). */
  allowsOrigin(origin: string): boolean {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    return this.allows(host);
  }

  private allows(host: string): boolean {
    const family = isIP(host);
    if (family === 0) return this.names.has(canonicalName(host));
    const address = canonicalAddress(host);
    if (this.addresses.has(address)) return true;
    // An address may have come since (DHCP, a second interface): look once more.
    this.addresses = this.readAddresses();
    return this.addresses.has(address);
  }

  private readAddresses(): Set<string> {
    const found = new Set<string>();
    for (const list of Object.values(this.interfaces())) {
      for (const i of list ?? []) found.add(canonicalAddress(i.address));
    }
    return found;
  }
}

function canonicalName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** An address as compared: no zone, IPv4-mapped IPv6 as IPv4, lower case. */
function canonicalAddress(address: string): string {
  return canonicalIp(address)?.address ?? address.toLowerCase();
}

/** The host of a `Host` header without its port; null when it is not a plain host[:port]. */
function hostOf(header: string): string | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+(?:%25[\w.-]+)?)\]|([^:[\]@/\\\s]+))(?::(\d{1,5}))?$/.exec(header);
  if (!m) return null;
  if (m[1] !== undefined) return isIP(m[1].replace(/%25.*$/, '')) === 6 ? m[1].replace(/%25.*$/, '') : null;
  return m[2] ?? null;
}
