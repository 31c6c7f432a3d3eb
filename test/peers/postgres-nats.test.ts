import { connect, StringCodec } from 'nats';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsHandle, startNats } from '../support/nats.ts';
import { type PostgresHandle, startPostgres } from '../support/postgres.ts';

describe('throwaway PostgreSQL and nats-server', () => {
  let postgres: PostgresHandle;
  let nats: NatsHandle;

  beforeAll(async () => {
    [postgres, nats] = await Promise.all([startPostgres(), startNats()]);
  });
  afterAll(async () => {
    await Promise.all([postgres?.dispose(), nats?.dispose()]);
  });

  it('serves a fresh database per call, behind a password', async () => {
    const url = await postgres.createDatabase();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ db: string; tables: string }>(
        `SELECT current_database() AS db,
           (SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public') AS tables`,
      );
      expect(rows[0]).toEqual({ db: new URL(url).pathname.slice(1), tables: '0' });
    } finally {
      await client.end();
    }
    const wrong = new pg.Client({ connectionString: url.replace(/:[0-9a-f]+@/, ':wrong@') });
    await expect(wrong.connect()).rejects.toThrow(/password authentication failed/);
  });

  it('answers a request across two connections, and refuses one without the token', async () => {
    const sc = StringCodec();
    const a = await connect({ servers: nats.url, token: nats.token });
    const b = await connect({ servers: nats.url, token: nats.token });
    try {
      b.subscribe('ping', { callback: (_err, msg) => msg.respond(sc.encode(`pong ${sc.decode(msg.data)}`)) });
      await b.flush();
      const reply = await a.request('ping', sc.encode('1'), { timeout: 5000 });
      expect(sc.decode(reply.data)).toBe('pong 1');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow(/Authorization/i);
  });
});
