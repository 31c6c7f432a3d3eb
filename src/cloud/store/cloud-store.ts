import type { GatewayRegistry } from '../registry/gateway-registry.ts';
import { PostgresGatewayRegistry } from '../registry/postgres-gateway-registry.ts';
import { SqliteGatewayRegistry } from '../registry/sqlite-gateway-registry.ts';
import { openPostgres } from './postgres-database.ts';

/** Where the cloud keeps the state its nodes share (the config's `store` section). */
export interface StoreSettings {
  /** The SQLite file of a single node (":memory:" for tests). */
  path: string;
  /** A postgres:// URL: the fleet's shared database, used instead of the file. */
  url?: string | undefined;
  /** Connections each node keeps to PostgreSQL. */
  maxConnections: number;
}

/**
 * The cloud's shared state behind one interface: SQLite in one file for a single node with
 * zero set-up, or PostgreSQL when `store.url` is set, so any node of a fleet can serve any
 * gateway, job or API call.
 */
export interface CloudStore {
  readonly kind: 'sqlite' | 'postgres';
  readonly gateways: GatewayRegistry;
  close(): Promise<void>;
}

/** Opens (and on PostgreSQL migrates) the store the settings name. */
export async function openCloudStore(settings: StoreSettings): Promise<CloudStore> {
  if (settings.url) {
    const pool = await openPostgres(settings.url, settings.maxConnections);
    return {
      kind: 'postgres',
      gateways: new PostgresGatewayRegistry(pool),
      close: () => pool.end(),
    };
  }
  const gateways = new SqliteGatewayRegistry(settings.path);
  return {
    kind: 'sqlite',
    gateways,
    close: async () => gateways.close(),
  };
}
