import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startCloudServer } from '../../src/cloud/cloud-server.ts';
import { parseCloudConfig } from '../../src/config/cloud-config.ts';
import { silentLogger } from '../../src/log/logger.ts';
import { freePort } from '../support/free-port.ts';
import { deferredTeardown } from '../support/teardown.ts';

const defer = deferredTeardown();

/** Resolves once this process can listen on the port (and lets it go again). */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

describe('startCloudServer', () => {
  it('fails on a taken port and stops what it had started (the embedded broker)', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen({ host: '127.0.0.1', port: 0 }, resolve));
    defer(() => new Promise((resolve) => taken.close(resolve)));
    const address = taken.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const brokerPort = await freePort();
    const starting = startCloudServer(
      parseCloudConfig({
        listen: { host: '127.0.0.1', port: address.port },
        api: { token: 'a'.repeat(32) },
        gateways: [{ id: 'gw1', token: 't'.repeat(32) }],
        store: { path: ':memory:' },
        mqtt: { embedded: true, listen: { host: '127.0.0.1', port: brokerPort } },
      }),
      { logger: silentLogger() },
    );
    await expect(starting).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(await canListen(brokerPort)).toBe(true);
  });
});
