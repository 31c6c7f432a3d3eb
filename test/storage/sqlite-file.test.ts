import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { boundPageCache, GATEWAY_PAGE_CACHE_KIB } from '../../src/storage/sqlite-file.ts';

describe('boundPageCache', () => {
  it("sets the connection's page cache in KiB, the gateway's bound by default", () => {
    const db = new DatabaseSync(':memory:');
    const cacheSize = () => (db.prepare('PRAGMA cache_size').get() as { cache_size: number }).cache_size;
    expect(cacheSize()).toBe(-2000);
    boundPageCache(db);
    expect(cacheSize()).toBe(-GATEWAY_PAGE_CACHE_KIB);
    boundPageCache(db, 64);
    expect(cacheSize()).toBe(-64);
    db.close();
  });
});
