import type { NewJob } from '../../../src/cloud/jobs/job-store.ts';

/** A queued print job of gw1's device `mfp` as the job tests store it; `extra` overrides fields. */
export const newJob = (id: string, extra: Partial<NewJob> = {}): NewJob => ({
  id,
  type: 'print',
  gatewayId: 'gw1',
  deviceId: 'mfp',
  priority: 0,
  idempotencyKey: null,
  requestFingerprint: null,
  name: null,
  format: null,
  size: 10,
  sha256: 'f'.repeat(64),
  createdAt: 1000,
  ...extra,
});
