/**
 * Packages that only some sites need — MQTT, SNMP, serial lines, an HTTP proxy, pretty
 * terminal logs, and on a cloud node PostgreSQL and NATS clients — are loaded the first time a configured feature uses them, not at start:
 * each costs megabytes of resident memory on a 512 MB board that may never use it.
 * Synchronous (`require`, which in Node 24 also loads ES modules), so the constructors that
 * need a package stay synchronous. Type-only imports of these packages are fine anywhere.
 */
import { createRequire } from 'node:module';

interface OnDemandPackages {
  mqtt: typeof import('mqtt');
  'net-snmp': typeof import('net-snmp');
  serialport: typeof import('serialport');
  'https-proxy-agent': typeof import('https-proxy-agent');
  'pino-pretty': typeof import('pino-pretty');
  pg: typeof import('pg');
  nats: typeof import('nats');
  ssh2: typeof import('ssh2');
}

/** Their names; the build leaves them out of the bundle (board/bundle/build-app.ts). */
const LISTED: Record<keyof OnDemandPackages, true> = {
  mqtt: true,
  'net-snmp': true,
  serialport: true,
  'https-proxy-agent': true,
  'pino-pretty': true,
  pg: true,
  nats: true,
  ssh2: true,
};
export const ON_DEMAND_PACKAGES = Object.keys(LISTED) as (keyof OnDemandPackages)[];

const require = createRequire(import.meta.url);

/** The package's exports, loaded now if this is the first use. */
export function onDemand<Name extends keyof OnDemandPackages>(name: Name): OnDemandPackages[Name] {
  return require(name) as OnDemandPackages[Name];
}
