import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { deferredTeardown } from '../support/teardown.ts';
import { startTestCloud } from '../support/test-cloud.ts';

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
    const starting = startTestCloud({
      listen: { port: address.port },
      mqtt: { embedded: true, listen: { host: '127.0.0.1', port: brokerPort } },
    });
    await expect(starting).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(await canListen(brokerPort)).toBe(true);
  });
});
