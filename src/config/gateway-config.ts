import { isIP } from 'node:net';
import { z } from 'zod';
import { cronProblem } from '../calendar/cron-fires.ts';
import { formatDuration } from '../calendar/duration.ts';
import { hostTimeZone, isTimeZone } from '../calendar/zoned-time.ts';
import { MAX_ADVISED_MS } from '../protocol/messages.ts';
import { INITIAL_WINDOW } from '../protocol/tunnel/frame-types.ts';
import { isPasswordHash, PASSWORD_HASH_EXPECTED } from '../secrets/password-hash.ts';
import { devicesSection } from './device-config.ts';
import { DEFAULT_ANSWER_TIMEOUT_MS, NORMAL_MODE, POWER_SAVING_MODE } from './keepalive-defaults.ts';
import { loadConfigFile, type ParseOptions, parseConfig, parseConfigText } from './load-config.ts';
import { duration, port, secret, slug } from './schema-types.ts';

/** True for "address/prefix" with a valid IPv4 or IPv6 address and prefix length. */
function isCidr(text: string): boolean {
  const [address, prefix, extra] = text.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || extra !== undefined || prefix === undefined || !/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 6 ? 128 : 32);
}

/**
 * Whether a URL's host is an IP literal of the loopback range (127.0.0.0/8, ::1): only then
 * may a plain ws:// or mqtt:// URL be used. A name never counts, "localhost" or
 * "127.cloud.example" alike: DNS may answer anything (issue 13.12). URL has already
 * normalised IPv4 spellings such as 127.1 or 0x7f.1 to dotted quads.
 */
function isLoopbackLiteral(hostname: string): boolean {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (isIP(host) === 4) return host.startsWith('127.');
  return isIP(host) === 6 && host === '::1';
}

/** The cloud URL must be wss:// (verified TLS); plain ws:// is allowed on loopback only, for demos. */
const cloudUrl = z.string({ error: 'a wss:// URL of the cloud push endpoint' }).refine((text) => {
  try {
    const url = new URL(text);
    if (url.protocol === 'wss:') return true;
    return url.protocol === 'ws:' && isLoopbackLiteral(url.hostname);
  } catch {
    return false;
  }
}, 'a wss:// URL (ws:// only to a loopback IP address such as 127.0.0.1, for demos), e.g. "wss://cloud.example.com/push"');

const proxyUrl = z.string().refine((text) => {
  try {
    return new URL(text).protocol === 'http:';
  } catch {
    return false;
  }
}, 'an http:// proxy URL, e.g. "http://user:password@proxy.lan:3128"');

/** The MQTT broker URL: mqtts:// or wss:// (verified TLS); plain mqtt:// and ws:// on loopback only. */
const mqttUrl = z.string({ error: 'an mqtts:// or wss:// URL of the MQTT broker' }).refine((text) => {
  try {
    const url = new URL(text);
    if (url.protocol === 'mqtts:' || url.protocol === 'wss:') return true;
    const loopback = isLoopbackLiteral(url.hostname);
    return (url.protocol === 'mqtt:' || url.protocol === 'ws:') && loopback;
  } catch {
    return false;
  }
}, 'an mqtts:// or wss:// URL (mqtt:// and ws:// only to a loopback IP address), e.g. "mqtts://broker.example.com:8883"');

const mqttSection = z
  .strictObject({
    url: mqttUrl.describe('the broker; wss:// crosses an HTTP proxy (MQTT over WebSocket)'),
    protocolVersion: z
      .union([z.literal(4), z.literal(5)])
      .default(5)
      .describe('5 (MQTT 5) or 4 (3.1.1, e.g. for the cloud’s embedded aedes broker)'),
    username: z.string().min(1).optional().describe('broker user (default: none)'),
    password: z.string().min(1).optional().describe('broker password (env MFPGW_MQTT_PASSWORD overrides)'),
    caFile: z.string().optional().describe('extra CA certificate (PEM) to trust for the broker'),
    certFile: z
      .string()
      .optional()
      .describe('client certificate (PEM) for brokers that authenticate by certificate'),
    keyFile: z.string().optional().describe('private key (PEM) of certFile'),
    proxy: proxyUrl
      .optional()
      .describe('HTTP proxy for wss:// brokers; default: cloud.proxy, else HTTPS_PROXY'),
    // MQTT's keep-alive is a 16-bit count of seconds.
    keepalive: duration('60s', '65535s').describe('MQTT keep-alive until the cloud has learned an interval'),
    telemetry: z
      .strictObject({
        every: duration('5m').describe('publish telemetry at least this often'),
        minGap: duration('10s').describe('never publish telemetry more often than this, even on changes'),
      })
      .prefault({}),
    log: z
      .strictObject({
        batchSize: z.number().int().min(1).max(10_000).default(200).describe('most log records per batch'),
        batchEvery: duration('30s').describe('ship a partial batch once its oldest record is this old'),
        maxRecords: z
          .number()
          .int()
          .min(1)
          .default(100_000)
          .describe('spool bound; past it the oldest records are dropped (and counted)'),
      })
      .prefault({}),
  })
  .refine((m) => Boolean(m.certFile) === Boolean(m.keyFile), {
    message: 'certFile and keyFile go together',
    path: ['certFile'],
  });

/** A LAN-side listener; port 5514 because the service has no capability to bind 514. */
const syslogListener = z.union([
  z.literal(false),
  z.strictObject({
    host: z
      .string()
      .refine((t) => isIP(t) !== 0, 'an IP address to listen on, e.g. "0.0.0.0" or the LAN address')
      .default('0.0.0.0'),
    port: port.default(5514),
  }),
]);

const journalSection = z.strictObject({
  retention: z
    .strictObject({
      maxAge: duration('30d').describe('delete tunnel records and device logs older than this'),
      maxTunnelRecords: z.number().int().min(100).default(100_000).describe('keep at most this many tunnels'),
      maxDeviceLogs: z
        .number()
        .int()
        .min(100)
        .default(200_000)
        .describe('keep at most this many device log lines'),
      every: duration('1h').describe('apply retention this often (and at start)'),
    })
    .prefault({}),
  syslog: z
    .strictObject({
      udp: syslogListener.prefault({}).describe('RFC 5426 listener, or false'),
      tcp: syslogListener.prefault({}).describe('RFC 6587 listener (octet counting or LF framing), or false'),
      allowFrom: z
        .array(z.string().refine((t) => isCidr(t), 'an address range such as "192.168.1.0/24"'))
        .default([])
        .describe('senders accepted; empty: any'),
      maxMessageSize: z.number().int().min(480).max(65_507).default(8192).describe('longest message, bytes'),
      maxConnections: z.number().int().min(1).max(1024).default(64).describe('TCP senders at once'),
      rateLimit: z
        .strictObject({
          perSecond: z.number().positive().max(10_000).default(20).describe('messages per second per sender'),
          burst: z.number().int().min(1).max(100_000).default(100).describe('messages at once per sender'),
        })
        .prefault({}),
    })
    .optional()
    .describe('device connection logs over syslog (RFC 5424); off when absent'),
});

/** Where a LAN-side service listens: all addresses by default, the port given. */
function lanListener(defaultPort: number) {
  return z
    .strictObject({
      host: z
        .string()
        .refine((t) => isIP(t) !== 0, 'an IP address to listen on, e.g. "0.0.0.0" or the LAN address')
        .default('0.0.0.0')
        .describe('the LAN side; on a box with a second (cloud-side) interface, its LAN address'),
      port: port.default(defaultPort),
    })
    .prefault({});
}

/** The local web status page (docs/status-page.md). */
const statusSection = z.strictObject({
  enabled: z.boolean().default(true).describe('serve the status page and /health, /ready, /metrics'),
  listen: lanListener(8080),
  auth: z
    .enum(['password', 'none'])
    .default('password')
    .describe('"none" serves the page without login: labs only (warned about in the log)'),
  passwordHash: z
    .string()
    .refine(isPasswordHash, PASSWORD_HASH_EXPECTED)
    .optional()
    .describe('the login password, hashed; without it the first visitor sets one (stored in stateDir)'),
  sessionTtl: duration('12h').describe('a login lasts this long'),
  hostnames: z
    .array(
      z
        .string()
        .regex(
          /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/,
          'a DNS name, e.g. "gateway.office.lan"',
        ),
    )
    .max(32)
    .default([])
    .describe(
      'DNS names the page is reached by; besides them only the box’s own IP addresses and localhost are accepted in Host (DNS rebinding)',
    ),
  setupWindow: duration('1h').describe(
    'first boot: how long after start the first password (and onboarding) may be set; 0s: no limit. A restart opens it again',
  ),
  metrics: z
    .enum(['login', 'open'])
    .default('login')
    .describe('"open": /metrics without login (for a Prometheus scraper); "login": a session is needed'),
  login: z
    .strictObject({
      freeAttempts: z.number().int().min(1).max(100).default(3).describe('wrong passwords before waiting'),
      delay: duration('2s').describe('the first wait; each further wrong password doubles it'),
      maxDelay: duration('15m').describe('the longest wait'),
    })
    .prefault({}),
  live: z
    .strictObject({
      minGap: duration('1s').describe('live updates at most this often'),
      refresh: duration('5s').describe('and at least this often while the page is open'),
    })
    .prefault({}),
});

/** The push proxy for LAN devices (docs/push-proxy.md). */
const pushProxySection = z.strictObject({
  listen: lanListener(8081),
  devices: z
    .array(
      z.strictObject({
        id: slug.describe('the device id the cloud pushes to (POST /api/v1/gateways/{gw}/devices/{id}/push)'),
        token: secret.describe('the device proves its id with this token in its hello'),
      }),
    )
    .max(64)
    .default([])
    .refine((list) => new Set(list.map((d) => d.id)).size === list.length, 'device ids must be unique')
    .describe(
      'devices allowed to connect; each gets one stream on the push lines (none: the listener only relays direct connections)',
    ),
  relayUrl: z
    .url({ protocol: /^http$/, error: 'an http:// URL, e.g. "http://192.168.1.2:8081"' })
    .optional()
    .describe(
      'how LAN devices reach this listener for a relayed direct connection (docs/push-proxy.md); default: listen.host if it is one address, else the box’s only LAN address',
    ),
  lanKeepalive: duration('5m')
    .refine((ms) => ms >= 1000 && ms <= 86_400_000, 'between 1s and 1d')
    .describe(
      'keep-alive interval given to devices: long (the LAN kills no idle connection), short enough to notice a dead device',
    ),
  ackTimeout: duration('5s').describe(
    'a connected device that does not acknowledge a push this long is dropped; the push is held',
  ),
  hold: z
    .strictObject({
      max: z.number().int().min(1).max(10_000).default(100).describe('most pushes held per device'),
      maxBytes: z
        .number()
        .int()
        .min(65_536)
        .default(8 * 1024 * 1024)
        .describe('most payload bytes held for all devices together'),
      ttl: duration('1d').describe('a held push the device does not take within this long expires'),
    })
    .prefault({}),
});

const powerMode = z.strictObject({
  minInterval: duration('0s').describe('never keep alive more often than this in this mode'),
  changeThreshold: duration('0s').describe('ignore advice to lengthen the interval by less than this'),
  telemetryEvery: duration('0s').describe(
    'in this mode publish scheduled telemetry at most this often (0s: as mqtt.telemetry.every says)',
  ),
  snmpEvery: duration('0s').describe(
    'in this mode read SNMP meters at most this often (0s: as each device says)',
  ),
});

export const gatewayConfigSchema = z
  .strictObject({
    gateway: z
      .strictObject({
        id: slug.describe('this gateway’s id, as registered in the cloud'),
        domain: z
          .string()
          .max(253)
          .optional()
          .describe('DNS domain of the site; default: the host’s DNS domain'),
        stateDir: z.string().default('/var/lib/mfp-gateway').describe('where the gateway keeps its state'),
      })
      .describe('identity of this gateway'),
    cloud: z.strictObject({
      url: cloudUrl.describe('the cloud push endpoint'),
      token: secret.describe('per-gateway token (env MFPGW_CLOUD_TOKEN overrides)'),
      caFile: z.string().optional().describe('extra CA certificate (PEM) to trust for the cloud'),
      connections: z.number().int().min(1).max(8).default(2).describe('number of push lines'),
      probe: z.boolean().default(true).describe('allow this gateway to keep a probe line for its domain'),
      proxy: proxyUrl.optional().describe('HTTP CONNECT proxy; default: HTTPS_PROXY (NO_PROXY honoured)'),
      stagger: duration('2s').describe('delay between opening successive lines'),
    }),
    keepalive: z
      .strictObject({
        default: duration('25s', formatDuration(MAX_ADVISED_MS)).describe(
          'interval used until the cloud advises one',
        ),
        answerTimeout: duration(formatDuration(DEFAULT_ANSWER_TIMEOUT_MS)).describe(
          'a keep-alive unanswered this long marks its line dead',
        ),
      })
      .prefault({}),
    power: z
      .strictObject({
        mode: z.string().default('normal').describe('current power mode (a key of power.modes)'),
        modes: z
          .record(slug, powerMode)
          .default({
            [NORMAL_MODE.name]: {
              minInterval: NORMAL_MODE.minIntervalMs,
              changeThreshold: NORMAL_MODE.changeThresholdMs,
            } as never,
            [POWER_SAVING_MODE.name]: {
              minInterval: POWER_SAVING_MODE.minIntervalMs,
              changeThreshold: POWER_SAVING_MODE.changeThresholdMs,
            } as never,
          })
          .describe('named power modes'),
        timezone: z
          .string()
          .refine(isTimeZone, 'an IANA time zone, e.g. "Europe/Berlin"')
          .default(hostTimeZone)
          .describe('time zone of power.schedules; default: the host’s'),
        schedules: z
          .array(
            z.strictObject({
              cron: z
                .string()
                .superRefine((text, ctx) => {
                  const problem = cronProblem(text);
                  if (problem) ctx.addIssue({ code: 'custom', message: `a cron expression (${problem})` });
                })
                .describe('when to switch, e.g. "0 22 * * 1-5" (node-cron syntax)'),
              mode: slug.describe('the mode to switch to (a key of power.modes)'),
            }),
          )
          .default([])
          .describe('mode switches; the most recently fired wins, list order breaks ties (docs/mqtt.md)'),
      })
      .prefault({})
      .refine((p) => p.mode in p.modes, {
        message: 'power.mode must name one of power.modes',
        path: ['mode'],
      })
      .superRefine((p, ctx) => {
        for (const [i, s] of p.schedules.entries()) {
          if (!(s.mode in p.modes))
            ctx.addIssue({ code: 'custom', message: 'one of power.modes', path: ['schedules', i, 'mode'] });
        }
      }),
    tunnels: z
      .strictObject({
        allow: z
          .array(
            z.strictObject({
              cidr: z
                .string()
                .refine((t) => isCidr(t), 'an address range such as "192.168.1.0/24" or "10.0.0.5/32"'),
              ports: z.array(port.refine((p) => p > 0, 'a port from 1 to 65535')).min(1),
            }),
          )
          .default([])
          .describe(
            'LAN targets the cloud may open tunnels to; nothing else (deny by default). Loopback, link-local and the box’s own addresses never, whatever the rules say',
          ),
        allowLocal: z
          .boolean()
          .default(false)
          .describe(
            'labs and tests only: let the rules reach the gateway’s own host (loopback, its addresses)',
          ),
        maxConcurrent: z.number().int().min(1).max(1000).default(32).describe('tunnels relayed at once'),
        connectTimeout: duration('10s').describe('give up connecting to a LAN device after this long'),
        memoryCap: z
          .number()
          .int()
          .min(INITIAL_WINDOW)
          .default(32 * 1024 * 1024)
          .describe(
            'most bytes the cloud may make the gateway buffer in all tunnels together (the sum of their receive windows)',
          ),
      })
      .prefault({}),
    devices: devicesSection,
    storage: z
      .strictObject({
        key: z
          .string()
          .min(1)
          .describe('AES-256 key for secure-storage jobs: 32 bytes as base64 or hex (env MFPGW_STORAGE_KEY)'),
      })
      .optional()
      .describe('secure storage (needed when a device has driver "storage")'),
    jobs: z
      .strictObject({
        resumeGrace: duration('2m').describe(
          'keep a device’s half-sent job open this long for the cloud to resume it on another line',
        ),
        maxConcurrent: z.number().int().min(1).max(1000).default(16).describe('jobs run on devices at once'),
      })
      .prefault({}),
    journal: journalSection.prefault({}).describe('tunnel records and device logs (docs/journal.md)'),
    mqtt: mqttSection.optional().describe('MQTT management channel, telemetry and alternate push line'),
    status: statusSection.prefault({}).describe('local web status page and health/metrics endpoints'),
    pushProxy: pushProxySection
      .optional()
      .describe('WebSocket push proxy for LAN devices, so they can sleep; off when absent'),
    reconnect: z
      .strictObject({
        initialDelay: duration('1s'),
        maxDelay: duration('2m'),
        stableAfter: duration('1m').describe('a line up this long resets its backoff'),
        authFailureDelay: duration('5m').describe('wait after the cloud or proxy refused our credentials'),
      })
      .prefault({}),
    log: z
      .strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info') })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    // Every open tunnel and proxied device's stream holds at least its initial window: a
    // smaller cap would refuse opens that the limits allow.
    const streams = config.tunnels.maxConcurrent + (config.pushProxy?.devices.length ?? 0);
    if (streams * INITIAL_WINDOW > config.tunnels.memoryCap) {
      ctx.addIssue({
        code: 'custom',
        path: ['tunnels', 'memoryCap'],
        message: `at least ${streams * INITIAL_WINDOW} bytes: ${INITIAL_WINDOW} for each of tunnels.maxConcurrent (${config.tunnels.maxConcurrent}) and each pushProxy device; or lower tunnels.maxConcurrent`,
      });
    }
    const stores = config.devices.findIndex((d) => d.driver === 'storage');
    if (stores !== -1 && !config.storage) {
      ctx.addIssue({
        code: 'custom',
        message: 'a storage.key (32 bytes, base64 or hex) because a device has driver "storage"',
        path: ['storage'],
      });
    }
  });

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;

/** Environment variables that override secrets in the gateway config. */
export const GATEWAY_ENV_OVERRIDES = {
  MFPGW_CLOUD_TOKEN: 'cloud.token',
  MFPGW_PROXY: 'cloud.proxy',
  MFPGW_MQTT_PASSWORD: 'mqtt.password',
  MFPGW_STORAGE_KEY: 'storage.key',
};

/** Loads and validates a gateway config file. */
export function loadGatewayConfig(file: string, options: ParseOptions = {}): GatewayConfig {
  return loadConfigFile(file, gatewayConfigSchema, { overrides: GATEWAY_ENV_OVERRIDES, ...options });
}

/** Validates the text of a gateway config file (to be) at `file`, as loadGatewayConfig does. */
export function parseGatewayConfigText(
  file: string,
  text: string,
  options: ParseOptions = {},
): GatewayConfig {
  return parseConfigText(file, text, gatewayConfigSchema, { overrides: GATEWAY_ENV_OVERRIDES, ...options });
}

/** Validates an in-memory gateway config (demo, tests). */
export function parseGatewayConfig(raw: unknown, options: ParseOptions = {}): GatewayConfig {
  return parseConfig('(inline)', raw, gatewayConfigSchema, { overrides: GATEWAY_ENV_OVERRIDES, ...options });
}
