import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { deferSite, type LoadedSite } from '../../../src/gateway/status/deferred-site.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import { http } from '../../../src/runtime/node-http.ts';

const servers: import('node:http').Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function listening(): Promise<{ server: import('node:http').Server; url: string }> {
  const server = http.createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

const echoSite = (): LoadedSite => ({
  request: (req, res) => res.end(`site: ${req.url}`),
  upgrade: (_req, socket) => socket.destroy(),
  close: async () => {},
});

describe('a site built on the first request', () => {
  it('is not built until asked, then once, and answers the requests that waited for it', async () => {
    const { server, url } = await listening();
    let loads = 0;
    let finish: () => void = () => {};
    const site = deferSite(
      server,
      () => {
        loads++;
        return new Promise<LoadedSite>((resolve) => {
          finish = () => resolve(echoSite());
        });
      },
      () => {},
      silentLogger(),
    );
    expect(site.requested).toBe(false);
    expect(loads).toBe(0);

    const first = get(`${url}/a`);
    const second = get(`${url}/b`);
    await expect.poll(() => loads).toBe(1);
    finish();
    expect(await first).toEqual({ status: 200, body: 'site: /a' });
    expect(await second).toEqual({ status: 200, body: 'site: /b' });
    expect(await get(`${url}/c`)).toEqual({ status: 200, body: 'site: /c' });
    expect(loads).toBe(1);
    expect(site.requested).toBe(true);
  });

  it('answers 503 and reports once when the site cannot be built', async () => {
    const { server, url } = await listening();
    const errors: string[] = [];
    deferSite(
      server,
      () => Promise.reject(new Error('chunk missing')),
      (err) => errors.push(err.message),
      silentLogger(),
    );
    expect((await get(`${url}/`)).status).toBe(503);
    expect((await get(`${url}/health`)).status).toBe(503);
    expect(errors).toEqual(['chunk missing']);
  });

  it('closes the site it built, and builds none to close when nobody asked', async () => {
    let closed = 0;
    const counting = async (): Promise<LoadedSite> => ({ ...echoSite(), close: async () => void closed++ });
    const idle = await listening();
    await deferSite(idle.server, counting, () => {}, silentLogger()).close();
    expect(closed).toBe(0);

    const visited = await listening();
    const site = deferSite(visited.server, counting, () => {}, silentLogger());
    await get(`${visited.url}/`);
    await site.close();
    expect(closed).toBe(1);
  });

  it('answers 500 when the site throws, and serves on (issue 13: no handler error ends the daemon)', async () => {
    const { server, url } = await listening();
    const failing = async (): Promise<LoadedSite> => ({
      ...echoSite(),
      request: (req, res) => {
        if (req.url === '/boom') throw new URIError('URI malformed');
        if (req.url === '/bug') throw new Error('a bug');
        res.end(`site: ${req.url}`);
      },
      upgrade: () => {
        throw new Error('upgrade bug');
      },
    });
    deferSite(server, failing, () => {}, silentLogger());
    expect((await get(`${url}/boom`)).status).toBe(400);
    expect((await get(`${url}/bug`)).status).toBe(500);
    const upgraded = await new Promise<string>((resolve) => {
      const req = http.request(`${url}/api/live`, {
        headers: { connection: 'upgrade', upgrade: 'websocket' },
      });
      req.on('response', (res) => resolve(String(res.statusCode)));
      req.on('upgrade', () => resolve('upgraded'));
      req.on('error', (err) => resolve(err.message));
      req.end();
    });
    expect(upgraded).toBe('500');
    expect(await get(`${url}/fine`)).toEqual({ status: 200, body: 'site: /fine' });
  });
});
