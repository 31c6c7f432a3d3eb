import { readFileSync } from 'node:fs';
import { availableParallelism, hostname, loadavg, uptime } from 'node:os';

/** The host's DNS domain: from its FQDN, else resolv.conf's domain or first search entry. */
export function hostDomain(resolvConf = '/etc/resolv.conf'): string {
  const name = hostname();
  const dot = name.indexOf('.');
  if (dot > 0) return name.slice(dot + 1).toLowerCase();
  try {
    for (const line of readFileSync(resolvConf, 'utf8').split('\n')) {
      const [key, value] = line.trim().split(/\s+/);
      if ((key === 'domain' || key === 'search') && value && value !== '.') return value.toLowerCase();
    }
  } catch {
    // No resolv.conf: no domain; the config can set one.
  }
  return '';
}

/** Load average over one minute divided by the number of cores (0 = idle, 1 = busy). */
export function cpuLoad(): number {
  return Number(((loadavg()[0] ?? 0) / availableParallelism()).toFixed(3));
}

/** System uptime in ms (the representative election prefers long-running boxes). */
export function systemUptimeMs(): number {
  return Math.round(uptime() * 1000);
}
