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
  directory: z
    .string()
    .min(1)
    .optional()
    .describe(
      'where encrypted files are stored: a directory here (a NAS share mounted on the gateway); or give url',
    ),
  url: z
    .string()
    .regex(
      /^(sftp:\/\/[^@/\s:]+@[^/\s]+\/\S*|smb:\/\/[^@/\s]+\/[^/\s]+(\/\S*)?)$/,
      'sftp://USER@HOST[:PORT]/ABSOLUTE/DIR or smb://HOST[:PORT]/SHARE[/DIR], without a password (give it in password)',
    )
    .optional()
    .describe('a file server to store on: sftp://user@host[:port]/dir or smb://host[:port]/share[/dir]'),
  hostKey: z
    .string()
    .regex(
      /^SHA256:[A-Za-z0-9+/]{43}$/,
      'SHA256: and 43 base64 characters, as `ssh-keygen -l -f KEY.pub` prints it',
    )
    .optional()
    .describe("sftp: the server's host key fingerprint (required: no trust on first use)"),
  privateKeyFile: z.string().min(1).optional().describe('sftp: a private key file to log in with'),
  username: z.string().min(1).max(256).optional().describe('smb: the user to log in as'),
  password: z.string().min(1).optional().describe('sftp or smb: the password (use ${env:NAME})'),
  domain: z.string().min(1).max(256).optional().describe("smb: the user's domain or workgroup"),
  protection: z
    .enum(['encrypt', 'sign', 'off'])
    .default('encrypt')
    .describe('smb: SMB3 encryption (default), signing only, or neither'),
  timeout: duration('30s').describe(
    'give up connecting to the file server or on a silent one after this long',
  ),
});

/** What a storage device's url and credentials must hold together; the messages name the key. */
function checkStorage(d: z.output<typeof storage>, ctx: z.RefinementCtx, at: (string | number)[]): void {
  const issue = (message: string, key: string) =>
    ctx.addIssue({ code: 'custom', message, path: [...at, key] });
  if ((d.directory === undefined) === (d.url === undefined)) {
    issue('either directory (a mounted share) or url (a file server), not both and not neither', 'directory');
    return;
  }
  if (d.url?.startsWith('sftp:')) {
    if (d.hostKey === undefined)
      issue("the server's host key fingerprint (ssh-keygen -l -f its key)", 'hostKey');
    if (d.password === undefined && d.privateKeyFile === undefined)
      issue('password or privateKeyFile to log in', 'password');
    if (d.username !== undefined)
      issue('not used for sftp: the user is in the url (sftp://USER@HOST/…)', 'username');
  }
  if (d.url?.startsWith('smb:')) {
    if (d.username === undefined) issue('the user to log in to the share as', 'username');
    if (d.password === undefined) issue('the password of username (use ${env:NAME})', 'password');
    if (d.hostKey !== undefined || d.privateKeyFile !== undefined)
      issue('not used for smb', d.hostKey ? 'hostKey' : 'privateKeyFile');
  }
}

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
      if (d.driver === 'storage') checkStorage(d, ctx, [i]);
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
      return d.url ?? d.directory ?? '';
  }
}
