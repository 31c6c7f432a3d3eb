import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A gateway the cloud accepts lines from, as registered (seeded from the config or through the admin API). */
export interface RegisteredGateway {
  id: string;
  /** `sha256:<hex>` of its token; the token itself is never stored. */
  tokenHash: string;
  /** A disabled gateway's lines are refused (and closed when it is disabled). */
  disabled: boolean;
  /** Job tunnels open at once through this gateway (seed 001's limit). */
  maxTunnels: number;
  /** Also count the gateway as busy while its CPU usage (0..1, the last seconds) is at or above this (seed 001). */
  cpuThreshold: number | null;
  /** Also count the gateway as busy while its line speed is at or below this, bytes/s (seed 001). */
  lineThreshold: number | null;
  /** Where it came from: the config's `gateways` seed, or the admin API (which then owns it). */
  source: 'config' | 'api';
  createdAt: number;
  updatedAt: number;
}

/** What may change about a registered gateway after it was created. */
export type GatewayChanges = Partial<
  Pick<
    RegisteredGateway,
    'tokenHash' | 'disabled' | 'maxTunnels' | 'cpuThreshold' | 'lineThreshold' | 'source'
  >
>;

/**
 * The registered gateways, shared by every cloud node (SQLite for one node, PostgreSQL for
 * a fleet): read on every line's upgrade, so adding, disabling or deleting one needs no restart.
 */
export interface GatewayRegistry {
  get(id: string): Promise<RegisteredGateway | undefined>;
  /** Gateways in id order after `after` (exclusive), at most `limit`. */
  list(page: { after?: string | undefined; limit: number }): Promise<RegisteredGateway[]>;
  /** Adds a gateway; false when the id is taken. */
  create(gateway: RegisteredGateway): Promise<boolean>;
  /** Changes a gateway and stamps it; undefined when there is none with that id. */
  update(id: string, changes: GatewayChanges, now: number): Promise<RegisteredGateway | undefined>;
  /** Forgets a gateway; false when there was none. */
  delete(id: string): Promise<boolean>;
}

/** Prefix of the tokens the admin API issues, so a leaked one is recognisable in a scan. */
const TOKEN_PREFIX = 'mfpgw_';

/** A new gateway token: 256 random bits. */
export function newGatewayToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * The stored form of a token. A plain SHA-256, not a password KDF: issued tokens carry 256
 * random bits, which no offline search can cover, so a slow hash adds no safety — but it
 * would add its cost (tens of ms of CPU) to every line's upgrade, and a reconnect storm
 * of 10,000 gateways would spend minutes of CPU on it. Seeded tokens are checked the same
 * way; the config already holds them in the clear.
 */
export function hashGatewayToken(token: string): string {
  return `sha256:${createHash('sha256').update(token).digest('hex')}`;
}

/** Whether a presented token matches a stored hash, in constant time. */
export function tokenMatchesHash(token: string, tokenHash: string): boolean {
  const given = Buffer.from(hashGatewayToken(token));
  const expected = Buffer.from(tokenHash);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The config's `gateways` entries, as the registry's seed. */
export interface GatewaySeed {
  id: string;
  token: string;
  maxTunnels: number;
  cpuThreshold?: number | undefined;
  lineThreshold?: number | undefined;
}

/**
 * Applies the config's seed: adds the gateways the registry lacks, and re-applies the
 * config's token and limits to gateways that still come from it. A gateway the admin API
 * changed since belongs to the API and is left alone.
 */
export async function seedGateways(
  registry: GatewayRegistry,
  seed: readonly GatewaySeed[],
  now: number,
): Promise<void> {
  for (const g of seed) {
    const values = {
      tokenHash: hashGatewayToken(g.token),
      maxTunnels: g.maxTunnels,
      cpuThreshold: g.cpuThreshold ?? null,
      lineThreshold: g.lineThreshold ?? null,
    };
    const created = await registry.create({
      id: g.id,
      ...values,
      disabled: false,
      source: 'config',
      createdAt: now,
      updatedAt: now,
    });
    if (created) continue;
    const current = await registry.get(g.id);
    if (current?.source !== 'config') continue;
    if (
      current.tokenHash !== values.tokenHash ||
      current.maxTunnels !== values.maxTunnels ||
      current.cpuThreshold !== values.cpuThreshold ||
      current.lineThreshold !== values.lineThreshold
    ) {
      await registry.update(g.id, values, now);
    }
  }
}

const COLUMNS: Record<keyof GatewayChanges, string> = {
  tokenHash: 'token_hash',
  disabled: 'disabled',
  maxTunnels: 'max_tunnels',
  cpuThreshold: 'cpu_threshold',
  lineThreshold: 'line_threshold',
  source: 'source',
};

/** The columns and values of a change, in the same order (for either database's UPDATE). */
export function changeColumns(changes: GatewayChanges): {
  sets: string[];
  values: (string | number | boolean | null)[];
} {
  const entries = Object.entries(changes).filter(([key, value]) => key in COLUMNS && value !== undefined);
  return {
    sets: entries.map(([key]) => COLUMNS[key as keyof GatewayChanges]),
    values: entries.map(([, value]) => value as string | number | boolean | null),
  };
}

/** A registry row (either database's) as a RegisteredGateway. */
export function toGateway(row: Record<string, unknown>): RegisteredGateway {
  return {
    id: String(row.id),
    tokenHash: String(row.token_hash),
    disabled: Boolean(row.disabled),
    maxTunnels: Number(row.max_tunnels),
    cpuThreshold: row.cpu_threshold === null ? null : Number(row.cpu_threshold),
    lineThreshold: row.line_threshold === null ? null : Number(row.line_threshold),
    source: row.source === 'api' ? 'api' : 'config',
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
