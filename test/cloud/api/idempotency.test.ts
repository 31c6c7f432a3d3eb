import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { CloudServer } from '../../../src/cloud/cloud-server.ts';
import { storeBackends } from '../../support/cloud-stores.ts';
import { API_TOKEN, GATEWAY_TOKEN, startTestCloud } from '../../support/test-cloud.ts';

// Issue 13.4: keys were global and not tied to the request; a reuse returned the first job and
// dropped the second document silently.
describe.each(storeBackends())('idempotency keys on $name', ({ fresh }) => {
  let cloud: CloudServer;
  let dir: string;

  const start = async () => {
    dir = await mkdtemp(join(tmpdir(), 'mfpgw-idempotency-'));
    cloud = await startTestCloud({
      gateways: [
        { id: 'gw1', token: GATEWAY_TOKEN },
        { id: 'gw2', token: 'u'.repeat(32) },
      ],
      store: await fresh(),
      jobs: { spoolDir: join(dir, 'jobs') },
    });
  };

  afterEach(async () => {
    await cloud?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const post = async (gateway: string, device: string, doc: string, key = 'order-42') => {
    const res = await fetch(`${cloud.url}/api/v1/jobs?gateway=${gateway}&device=${device}&type=print`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${API_TOKEN}`,
        'content-type': 'application/pdf',
        'idempotency-key': key,
      },
      body: doc,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('returns the first job for the same request, 422 for another request under the same key', async () => {
    await start();
    const first = await post('gw1', 'mfp', 'document A');
    expect(first).toMatchObject({ status: 202, body: { idempotencyKey: 'order-42' } });
    const again = await post('gw1', 'mfp', 'document A');
    expect(again).toMatchObject({ status: 200, body: { id: first.body.id } });

    const otherDocument = await post('gw1', 'mfp', 'document B');
    expect(otherDocument.status).toBe(422);
    expect(otherDocument.body.message).toContain(String(first.body.id));
    expect((await post('gw1', 'mfp2', 'document A')).status).toBe(422);
    expect((await cloud.jobStore.list({ limit: 10 })).map((j) => j.id)).toEqual([first.body.id]);
  });

  it('scopes a key to its gateway and its API client', async () => {
    await start();
    const gw1 = await post('gw1', 'mfp', 'document A');
    const gw2 = await post('gw2', 'mfp', 'document B');
    expect(gw1.status).toBe(202);
    expect(gw2.status).toBe(202);
    expect(gw2.body.id).not.toBe(gw1.body.id);
    const request = {
      type: 'print' as const,
      gatewayId: 'gw1',
      deviceId: 'mfp',
      priority: 0,
      idempotencyKey: 'order-42',
      name: null,
      format: 'application/pdf',
    };
    const otherClient = await cloud.jobs.submit(
      { ...request, apiClient: 'api:another-client' },
      Readable.from([Buffer.from('document C')]),
    );
    expect(otherClient.created).toBe(true);
    expect((await cloud.jobStore.list({ limit: 10 })).length).toBe(3);
  });
});
