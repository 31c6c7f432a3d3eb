import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../storage/atomic-file.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The gateway's client UUID (seed 000: one client, several push connections), kept in
 * the state directory so it survives restarts; created on first start.
 */
export function loadOrCreateClientId(stateDir: string): string {
  const file = join(stateDir, 'client-id');
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (UUID.test(existing)) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = randomUUID();
  writeFileAtomic(file, `${id}\n`, 0o644);
  return id;
}
