import type { Clock } from '../../clock/clock.ts';
import type { DeviceRegistry } from '../devices/device-registry.ts';
import { PostgresDeviceRegistry } from '../devices/postgres-device-registry.ts';
import { SqliteDeviceRegistry } from '../devices/sqlite-device-registry.ts';
import type { DocumentSpool } from '../jobs/document-spool.ts';
import { FileDocumentSpool } from '../jobs/file-document-spool.ts';
import type { JobStore } from '../jobs/job-store.ts';
import { PostgresDocumentSpool } from '../jobs/postgres-document-spool.ts';
import { PostgresJobStore } from '../jobs/postgres-job-store.ts';
import { SqliteJobStore } from '../jobs/sqlite-job-store.ts';
import type { GatewayRegistry } from '../registry/gateway-registry.ts';
import { PostgresGatewayRegistry } from '../registry/postgres-gateway-registry.ts';
import { SqliteGatewayRegistry } from '../registry/sqlite-gateway-registry.ts';
import type { LearningStore } from '../status/learning-store.ts';
import { PostgresLearningStore } from '../status/postgres-learning-store.ts';
import { SqliteLearningStore } from '../status/sqlite-learning-store.ts';
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
 * The cloud's shared state behind one interface: SQLite in one file (and job documents in
 * a directory) for a single node with zero set-up, or PostgreSQL when `store.url` is set,
 * so any node of a fleet can serve any gateway, job or API call.
 */
export interface CloudStore {
  readonly kind: 'sqlite' | 'postgres';
  readonly gateways: GatewayRegistry;
  readonly jobs: JobStore;
  readonly documents: DocumentSpool;
  readonly devices: DeviceRegistry;
  /** The status log, each gateway's evidence and the gateways' sites (keep-alive learning). */
  readonly learning: LearningStore;
  close(): Promise<void>;
}

/** Opens (and on PostgreSQL migrates) the store the settings name. */
export async function openCloudStore(
  settings: StoreSettings,
  deps: { documentsDir: string; clock: Clock },
): Promise<CloudStore> {
  if (settings.url) {
    const pool = await openPostgres(settings.url, settings.maxConnections);
    const learning = new PostgresLearningStore(pool);
    return {
      kind: 'postgres',
      gateways: new PostgresGatewayRegistry(pool),
      jobs: new PostgresJobStore(pool),
      documents: new PostgresDocumentSpool(pool, deps.clock),
      devices: new PostgresDeviceRegistry(pool),
      learning,
      close: async () => {
        await learning.close();
        await pool.end();
      },
    };
  }
  const gateways = new SqliteGatewayRegistry(settings.path);
  const jobs = new SqliteJobStore(settings.path);
  const devices = new SqliteDeviceRegistry(settings.path);
  const learning = new SqliteLearningStore(settings.path);
  return {
    kind: 'sqlite',
    gateways,
    jobs,
    documents: new FileDocumentSpool(deps.documentsDir),
    devices,
    learning,
    close: async () => {
      gateways.close();
      jobs.close();
      devices.close();
      await learning.close();
    },
  };
}
