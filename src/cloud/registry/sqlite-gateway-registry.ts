import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { openSharedDatabase } from '../../storage/sqlite-file.ts';
import {
  changeColumns,
  type GatewayChanges,
  type GatewayRegistry,
  type RegisteredGateway,
  toGateway,
} from './gateway-registry.ts';

/**
 * The registered gateways in the node's SQLite file (one node, zero set-up). Every line's upgrade
 * and every push reads its gateway: a read of the file after another connection to it committed
 * (the status log, every few milliseconds) re-reads its pages, so what was read is kept here — this
 * object makes every change to the table, so the copy stays true. Only registered gateways are
 * kept (the hellos of unknown ones must not grow it); copies are frozen, as callers share them.
 */
export class SqliteGatewayRegistry implements GatewayRegistry {
  private readonly db: DatabaseSync;
  private readonly getStmt: StatementSync;
  private readonly known = new Map<string, Readonly<RegisteredGateway>>();

  constructor(path: string) {
    this.db = openSharedDatabase(path);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS registered_gateways (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        max_tunnels INTEGER NOT NULL,
        cpu_threshold REAL,
        line_threshold REAL,
        source TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
    `);
    this.getStmt = this.db.prepare('SELECT * FROM registered_gateways WHERE id = ?');
  }

  async get(id: string): Promise<RegisteredGateway | undefined> {
    const kept = this.known.get(id);
    if (kept) return kept;
    const row = this.getStmt.get(id);
    if (!row) return undefined;
    const gateway = Object.freeze(toGateway(row));
    this.known.set(id, gateway);
    return gateway;
  }

  async list(page: { after?: string | undefined; limit: number }): Promise<RegisteredGateway[]> {
    return this.db
      .prepare('SELECT * FROM registered_gateways WHERE id > ? ORDER BY id LIMIT ?')
      .all(page.after ?? '', page.limit)
      .map(toGateway);
  }

  async create(g: RegisteredGateway): Promise<boolean> {
    const result = this.db
      .prepare(
        `INSERT INTO registered_gateways
           (id, token_hash, disabled, max_tunnels, cpu_threshold, line_threshold, source, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      )
      .run(
        g.id,
        g.tokenHash,
        g.disabled ? 1 : 0,
        g.maxTunnels,
        g.cpuThreshold,
        g.lineThreshold,
        g.source,
        g.createdAt,
        g.updatedAt,
      );
    this.known.delete(g.id);
    return result.changes > 0;
  }

  async update(id: string, changes: GatewayChanges, now: number): Promise<RegisteredGateway | undefined> {
    const { sets, values } = changeColumns(changes);
    const result = this.db
      .prepare(
        `UPDATE registered_gateways SET ${['updated_at = ?', ...sets.map((c) => `${c} = ?`)].join(', ')} WHERE id = ?`,
      )
      .run(now, ...values.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v)), id);
    this.known.delete(id);
    return result.changes > 0 ? this.get(id) : undefined;
  }

  async delete(id: string): Promise<boolean> {
    this.known.delete(id);
    return this.db.prepare('DELETE FROM registered_gateways WHERE id = ?').run(id).changes > 0;
  }

  close(): void {
    this.db.close();
  }
}
