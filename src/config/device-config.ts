import { z } from 'zod';
import { duration, port, slug } from './schema-types.ts';

const host = z
  .string({ error: 'a LAN host name or IP address of the device' })
  .min(1)
  .max(253)
  .describe('LAN address of the device');

/** What every device has, whatever its driver (the cloud's device registry shows these). */
const common = {
  id: slug.describe('the device’s id; the cloud names it in jobs'),
  directCapable: z
    .boolean()
    .default(false)
    .describe('the device can connect to the cloud by itself (tunnels may be handed over to it)'),
  directVia: z
    .enum(['own', 'gateway'])
    .default('own')
    .describe(
      'how a direct-capable device reaches the cloud: "own" (the site lets it out) or "gateway" (only the gateway may go out; its push proxy listener relays the direct connection)',
    ),
  spec: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
    .default({})
    .describe('free-form attributes for the cloud (model, colour, duplex, ...)'),
  statusEvery: duration('1m').describe('how often the device’s status is polled'),
  snmp: z
    .strictObject({
      host: z.string().min(1).max(253).describe('the device’s SNMP agent'),
      port: port.default(161),
      community: z.string().min(1).max(64).default('public').describe('SNMP v2c community'),
      every: duration('5m').describe('how often page meters and toner are read'),
    })
    .optional()
    .describe('read page meters and supplies over SNMP (Printer MIB)'),
};

const pjl = z.strictObject({
  ...common,
  driver: z.literal('pjl'),
  host,
  port: port.default(9100),
});

const ipp = z.strictObject({
  ...common,
  driver: z.literal('ipp'),
  uri: z
    .string()
    .regex(
      /^ipps?:\/\/[^/\s]+\/\S*$/,
      'an ipp:// or ipps:// printer URI, e.g. "ipp://192.168.1.40/ipp/print"',
    )
    .describe('the printer’s IPP URI'),
});

const lpd = z.strictObject({
  ...common,
  driver: z.literal('lpd'),
  host,
  port: port.default(515),
  queue: z.string().min(1).max(64).describe('the LPD queue name'),
});

const serial = z.strictObject({
  ...common,
  driver: z.literal('serial'),
  path: z.string().min(1).describe('serial port; prefer /dev/serial/by-id/... (stable across replugs)'),
  baudRate: z.number().int().min(50).max(4_000_000).default(115_200),
  dataBits: z.union([z.literal(5), z.literal(6), z.literal(7), z.literal(8)]).default(8),
  stopBits: z.union([z.literal(1), z.literal(1.5), z.literal(2)]).default(1),
  parity: z.enum(['none', 'even', 'odd', 'mark', 'space']).default('none'),
  flowControl: z.enum(['none', 'rtscts', 'xonxoff']).default('none'),
});

const storage = z.strictObject({
  ...common,
  driver: z.literal('storage'),
  directory: z.string().min(1).describe('where encrypted files are stored (a NAS share mounted here)'),
});

/** One device on the gateway's LAN; the configured devices are the tunnels' device allow-list. */
export const deviceSchema = z.discriminatedUnion('driver', [pjl, ipp, lpd, serial, storage], {
  error: 'a device with driver "pjl", "ipp", "lpd", "serial" or "storage"',
});

export type DeviceConfig = z.output<typeof deviceSchema>;

export const devicesSection = z
  .array(deviceSchema)
  .default([])
  .superRefine((devices, ctx) => {
    const seen = new Set<string>();
    for (const [i, d] of devices.entries()) {
      if (seen.has(d.id)) ctx.addIssue({ code: 'custom', message: 'a device id used once', path: [i, 'id'] });
      seen.add(d.id);
    }
  })
  .describe('devices the cloud may send jobs to (docs/jobs.md)');

/** The address a device is reached at, for the registry and the status page. */
export function deviceAddress(d: DeviceConfig): string {
  switch (d.driver) {
    case 'pjl':
    case 'lpd':
      return `${d.host}:${d.port}`;
    case 'ipp':
      return d.uri;
    case 'serial':
      return d.path;
    case 'storage':
      return d.directory;
  }
}
