/**
 * A worker thread of bench:cloud that fills one store with the history of some gateways
 * (history.ts fillHistory), so that the nodes' stores fill at once: a fill is CPU-bound in
 * SQLite or PostgreSQL, one writer per SQLite file. Posts progress, then the number of rows.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { systemClock } from '../../src/clock/system-clock.ts';
import { openCloudStore, type StoreSettings } from '../../src/cloud/store/cloud-store.ts';
import { simGateway } from './fleet-plan.ts';
import { type CloudKeeping, fillHistory, type HistoryOptions } from './history.ts';

/** What the bench hands a fill worker. */
export interface FillJob {
  store: StoreSettings;
  documentsDir: string;
  indexes: number[];
  runSecret: string;
  siteSize: number;
  history: HistoryOptions;
  keeping: CloudKeeping;
}

/** What a fill worker posts: progress, then the rows it wrote. */
export type FillMessage =
  | { type: 'progress'; gateways: number; records: number }
  | { type: 'done'; records: number };

const job = workerData as FillJob;
const post = (message: FillMessage) => parentPort?.postMessage(message);
const store = await openCloudStore(job.store, { documentsDir: job.documentsDir, clock: systemClock });
try {
  const gateways = job.indexes.map((i) => simGateway(i, job.runSecret, job.siteSize));
  const records = await fillHistory(store.learning, gateways, job.history, job.keeping, (done) =>
    post({ type: 'progress', ...done }),
  );
  post({ type: 'done', records });
} finally {
  await store.close();
}
