import { z } from 'zod';
import { formatDuration } from '../calendar/duration.ts';
import { parseRange } from '../http/client-address.ts';
import { MAX_ADVISED_MS } from '../protocol/messages.ts';
import {
  DEFAULT_INTERVAL_MS,
  DOMAIN_MIN_AGREEING,
  EVIDENCE_FLOOR_MS,
  MARGIN_FRACTION,
  MAX_INTERVAL_MS,
  MIN_INTERVAL_MS,
  PROBE_ACK_TIMEOUT_MS,
  PROBE_TOLERANCE_FRACTION,
  WINDOW_MS,
} from './learning-defaults.ts';
import { loadConfigFile, type ParseOptions, parseConfig } from './load-config.ts';
import { byteRate, duration, fraction, optionalFraction, port, secret, slug } from './schema-types.ts';

/** A fraction as the schema's percent text: 0.05 → "5%". */
const percent = (f: number): string => `${Math.round(f * 10_000) / 100}%`;

/** Keep-alive advice travels to gateways: bounded as the protocol bounds it. */
const ADVISED_MAX = formatDuration(MAX_ADVISED_MS);

const mqttSection = z
  .strictObject({
    url: z
      .string()
      .refine((text) => {
        try {
          return ['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(new URL(text).protocol);
        } catch {
          return false;
        }
      }, 'an mqtt://, mqtts://, ws:// or wss:// URL of the broker')
      .optional()
      .describe('the broker the gateways use; omit with embedded: true'),
    embedded: z.boolean().default(false).describe('run an in-process broker (aedes, MQTT 3.1.1) for demos'),
    listen: z
      .strictObject({ host: z.string().default('127.0.0.1'), port: port.default(1883) })
      .prefault({})
      .describe('where the embedded broker listens'),
    protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5),
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional().describe('broker password (env MFPGW_MQTT_PASSWORD overrides)'),
    caFile: z.string().optional().describe('extra CA certificate (PEM) to trust for the broker'),
  })
  .refine((m) => Boolean(m.url) !== m.embedded, {
    message: 'either mqtt.url (an external broker) or mqtt.embedded: true, not both',
    path: ['url'],
  });

const clusterSection = z
  .strictObject({
    nats: z
      .string()
      .refine((text) => {
        try {
          return ['nats:', 'tls:'].includes(new URL(text).protocol);
        } catch {
          return false;
        }
      }, 'a nats://host:port URL of the NATS server the nodes share')
      .describe('the NATS server the nodes share'),
    token: secret.optional().describe('the NATS server’s token (env MFPGW_NATS_TOKEN overrides)'),
    node: slug
      .optional()
      .describe(
        'this node’s name in the fleet, unique and the same across restarts; default: host name and port',
      ),
    nodeTimeout: duration('5s').describe(
      'a node not heard from this long has left: the others take over its gateways’ jobs',
    ),
  })
  .describe('several nodes behind a plain load balancer (docs/fleet.md); needs store.url');

export const cloudConfigSchema = z
  .strictObject({
    listen: z
      .strictObject({
        host: z.string().default('0.0.0.0'),
        port: port.default(8443),
        trustedProxies: z
          .array(
            z.string().refine(
              (entry) => {
                try {
                  parseRange(entry);
                  return true;
                } catch {
                  return false;
                }
              },
              { message: 'not an IP address or CIDR range (e.g. 10.0.0.0/8)' },
            ),
          )
          .max(256)
          .default([])
          .describe(
            'load balancers or reverse proxies in front of the cloud whose X-Forwarded-For is believed (addresses or CIDR ranges); the egress address of a site is taken from it',
          ),
        idleTimeout: duration('30s', '1h').describe(
          'a request whose headers or body stall this long is answered 408 and its connection closed',
        ),
        minBodyRate: byteRate()
          .default(1024)
          .describe(
            'a request body slower than this on average over any idleTimeout is answered 408 (0: no floor), e.g. 1k',
          ),
      })
      .prefault({}),
    tls: z
      .strictObject({
        certFile: z.string().describe('PEM certificate chain'),
        keyFile: z.string().describe('PEM private key'),
      })
      .optional()
      .describe('serve wss/https; omit only behind a TLS-terminating load balancer or on loopback'),
    api: z.strictObject({
      token: secret.describe('bearer token for the HTTP API (env MFPGW_API_TOKEN overrides)'),
    }),
    gateways: z
      .array(
        z.strictObject({
          id: slug,
          token: secret,
          maxTunnels: z
            .number()
            .int()
            .min(1)
            .max(1000)
            .default(8)
            .describe('job tunnels open at once through this gateway (seed 001’s limit)'),
          cpuThreshold: optionalFraction().describe(
            'also count the gateway as saturated while its CPU usage (busy share of all cores, measured over the last seconds) is at or above this, e.g. "85%"',
          ),
          lineThreshold: byteRate()
            .optional()
            .describe(
              'also count the gateway as saturated while its measured line speed is at or below this many bytes per second, e.g. "1m"',
            ),
        }),
      )
      .refine((list) => new Set(list.map((g) => g.id)).size === list.length, 'gateway ids to be unique')
      .default([])
      .describe(
        'optional seed of the gateway registry; add, disable and delete gateways at run time through the admin API (docs/fleet.md)',
      ),
    store: z
      .strictObject({
        path: z.string().default('mfp-cloud.db').describe('the SQLite file of a single node'),
        url: z
          .string()
          .refine((text) => {
            try {
              return ['postgres:', 'postgresql:'].includes(new URL(text).protocol);
            } catch {
              return false;
            }
          }, 'a postgres://user:password@host:port/database URL')
          .optional()
          .describe(
            'PostgreSQL shared by every node of a fleet, instead of the file (env MFPGW_STORE_URL overrides)',
          ),
        maxConnections: z
          .number()
          .int()
          .min(1)
          .max(1000)
          .default(10)
          .describe('connections to PostgreSQL per node'),
      })
      .prefault({}),
    keepalive: z
      .strictObject({
        default: duration(formatDuration(DEFAULT_INTERVAL_MS), ADVISED_MAX).describe(
          'advice when nothing is known (under every idle timeout from 30 s)',
        ),
        min: duration(formatDuration(MIN_INTERVAL_MS), ADVISED_MAX).describe(
          'never advise keep-alives more often (evidence below it is still learned and warned about)',
        ),
        max: duration(formatDuration(MAX_INTERVAL_MS), ADVISED_MAX).describe(
          'never advise keep-alives less often (at most 24d)',
        ),
        margin: fraction(percent(MARGIN_FRACTION), 0.5).describe(
          'advice = longest good idle gap minus this fraction',
        ),
        window: duration(formatDuration(WINDOW_MS)).describe('how long evidence counts'),
        evidenceFloor: duration(formatDuration(EVIDENCE_FLOOR_MS)).describe(
          'idle gaps shorter than this are no evidence either way',
        ),
        domainAgreeing: z
          .number()
          .int()
          .min(1)
          .max(100)
          .default(DOMAIN_MIN_AGREEING)
          .describe('gateways of a site that must know something and agree before its value is shared'),
        probe: z.boolean().default(true).describe('let one representative per domain probe longer gaps'),
        probeTolerance: fraction(percent(PROBE_TOLERANCE_FRACTION), 0.1).describe(
          'stop probing when the bounds are this close',
        ),
        probeAckTimeout: duration(formatDuration(PROBE_ACK_TIMEOUT_MS)).describe(
          'a probe unacknowledged this long has failed (a round trip with room to spare)',
        ),
      })
      .prefault({}),
    statusLog: z
      .strictObject({
        keep: duration('7d').describe('status-log rows older than this are pruned'),
        maxPerGateway: z.number().int().min(10).default(10_000).describe('newest rows kept per gateway'),
        pruneEvery: duration('10m').describe('how often the status log is pruned'),
      })
      .prefault({})
      .describe('the communication status log (the learning itself needs none of it)'),
    push: z
      .strictObject({
        ackTimeout: duration('10s').describe('a push unacknowledged this long has failed on its line'),
        deadline: duration('30s').describe('give up on a push after this long'),
      })
      .prefault({}),
    jobs: z
      .strictObject({
        spoolDir: z
          .string()
          .optional()
          .describe('where job documents are kept until done; default: "jobs" beside store.path'),
        maxBytes: z
          .number()
          .int()
          .min(1)
          .default(2 * 1024 ** 3)
          .describe('largest document accepted, bytes'),
        maxUploads: z
          .number()
          .int()
          .min(1)
          .max(10_000)
          .default(32)
          .describe('documents received at once; one more is answered 503 with Retry-After'),
        publicUrl: z
          .url({ protocol: /^https?$/ })
          .optional()
          .describe('base URL devices use for direct connections; default: this server’s own URL'),
        directMode: z
          .enum(['push', 'pull'])
          .default('push')
          .describe(
            'how a switched job’s rest reaches a device on its own connection: the cloud streams it over a WebSocket (push) or the device fetches it (pull); a device relayed by its gateway always pulls',
          ),
        connectTimeout: duration('30s').describe(
          'a device told to connect directly must be connected within this, or the switch is given up and the job stays on its tunnel',
        ),
        directTimeout: duration('10m').describe(
          'a device whose tunnel was interrupted must finish the job on its own connection within this',
        ),
        resumeWithin: duration('10m').describe('keep resuming a job whose tunnel broke for this long'),
        keepDone: duration('7d').describe('forget finished jobs (and their documents) after this'),
      })
      .prefault({})
      .describe('print and secure-storage jobs (docs/jobs.md)'),
    mqtt: mqttSection.optional().describe('MQTT: alternate push line, commands and telemetry'),
    cluster: clusterSection.optional(),
    log: z
      .strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info') })
      .prefault({}),
  })
  .refine((c) => !c.cluster || c.store.url, {
    message:
      'nodes of a fleet share PostgreSQL: set store.url too (or remove cluster for one node on SQLite)',
    path: ['cluster', 'nats'],
  });

export type CloudConfig = z.output<typeof cloudConfigSchema>;

export const CLOUD_ENV_OVERRIDES = {
  MFPGW_API_TOKEN: 'api.token',
  MFPGW_MQTT_PASSWORD: 'mqtt.password',
  MFPGW_STORE_URL: 'store.url',
  MFPGW_NATS_TOKEN: 'cluster.token',
};

/** Loads and validates a cloud config file. */
export function loadCloudConfig(file: string, options: ParseOptions = {}): CloudConfig {
  return loadConfigFile(file, cloudConfigSchema, { overrides: CLOUD_ENV_OVERRIDES, ...options });
}

/** Validates an in-memory cloud config (demo, tests). */
export function parseCloudConfig(raw: unknown, options: ParseOptions = {}): CloudConfig {
  return parseConfig('(inline)', raw, cloudConfigSchema, { overrides: CLOUD_ENV_OVERRIDES, ...options });
}
