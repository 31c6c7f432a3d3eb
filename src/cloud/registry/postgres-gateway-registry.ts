import type { Pool } from 'pg';
import {
  changeColumns,
  type GatewayChanges,
  type GatewayRegistry,
  type RegisteredGateway,
  toGateway,
} from './gateway-registry.ts';

/** The registered gateways in the fleet's PostgreSQL database, shared by every node. */
export class PostgresGatewayRegistry implements GatewayRegistry {
  private readonly pool: Pool;

  constructor(pool: Pool) {
    this.pool = pool;
  }

  async get(id: string): Promise<RegisteredGateway | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM registered_gateways WHERE id = $1', [id]);
    return rows[0] ? toGateway(rows[0]) : undefined;
  }

  async list(page: { after?: string | undefined; limit: number }): Promise<RegisteredGateway[]> {
    const { rows } = await this.pool.query(
      'SELECT * FROM registered_gateways WHERE id > $1 ORDER BY id LIMIT $2',
      [page.after ?? '', page.limit],
    );
    return rows.map(toGateway);
  }

  async create(g: RegisteredGateway): Promise<boolean> {
    const result = await this.pool.query(
      `INSERT INTO registered_gateways
         (id, token_hash, disabled, max_tunnels, cpu_threshold, line_threshold, source, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
      [
        g.id,
        g.tokenHash,
        g.disabled,
        g.maxTunnels,
        g.cpuThreshold,
        g.lineThreshold,
        g.source,
        g.createdAt,
        g.updatedAt,
      ],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async update(id: string, changes: GatewayChanges, now: number): Promise<RegisteredGateway | undefined> {
    const { sets, values } = changeColumns(changes);
    const assignments = ['updated_at = $2', ...sets.map((c, i) => `${c} = $${i + 3}`)];
    const { rows } = await this.pool.query(
      `UPDATE registered_gateways SET ${assignments.join(', ')} WHERE id = $1 RETURNING *`,
      [id, now, ...values],
    );
    return rows[0] ? toGateway(rows[0]) : undefined;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.pool.query('DELETE FROM registered_gateways WHERE id = $1', [id]);
    return (result.rowCount ?? 0) > 0;
  }
}
