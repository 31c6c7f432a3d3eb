import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { parseGatewayConfig } from '../../../src/config/gateway-config.ts';
import { startGateway } from '../../../src/gateway/gateway-daemon.ts';
import { GatewayJournal } from '../../../src/gateway/journal/gateway-journal.ts';
import { LogSpool } from '../../../src/gateway/mqtt/log-spool.ts';
import type { TunnelRecord } from '../../../src/gateway/tunnels/tunnel-endpoint.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import { scratchDir, secret } from '../../support/chain.ts';
import { freePort } from '../../support/free-port.ts';
import { deferredTeardown } from '../../support/teardown.ts';

const defer = deferredTeardown();
const DAY = 86_400_000;

function stateDir(): string {
  const { dir, cleanup } = scratchDir('gateway-journal');
  defer(cleanup);
  return dir;
}

function sendUdp(port: number, text: string): Promise<void> {
  const socket = createSocket('udp4');
  return new Promise((resolve, reject) =>
    socket.send(text, port, '127.0.0.1', (err) => {
      socket.close();
      if (err) reject(err);
      else resolve();
    }),
  );
}

const record = (jobId: string, closedAt: number): TunnelRecord => ({
  jobId,
  target: '127.0.0.1:9100',
  openedAt: closedAt - 1000,
  closedAt,
  bytesToDevice: 4096,
  bytesFromDevice: 12,
  outcome: 'done',
});

describe('GatewayJournal', () => {
  it('applies retention at start and then every retention.every on the injected clock', () => {
    const clock = new ManualClock();
    const settings = parseGatewayConfig({
      gateway: { id: 'gw1', stateDir: '/unused' },
      cloud: { url: 'ws://127.0.0.1:1/push', token: secret() },
      journal: { retention: { maxAge: '7d', every: '1h' } },
    }).journal;
    const forwarded: Record<string, unknown>[] = [];
    const journal = new GatewayJournal({
      clock,
      logger: silentLogger(),
      file: join(stateDir(), 'journal.db'),
      settings,
      forward: (r) => forwarded.push(r),
    });
    defer(() => journal.stop());
    journal.recordTunnel(record('ancient', clock.now() - 8 * DAY));
    journal.recordTunnel(record('recent', clock.now()));
    journal.start();
    expect(journal.store.tunnels().map((t) => t.jobId)).toEqual(['recent']);
    // Runs every hour; the one at exactly 7 days keeps "recent" (not older than maxAge yet)...
    clock.advance(7 * DAY);
    expect(journal.store.tunnels().map((t) => t.jobId)).toEqual(['recent']);
    // ...and the next one, an hour later, deletes it.
    clock.advance(3_600_000);
    expect(journal.store.tunnels()).toEqual([]);
    expect(forwarded.map((r) => [r.kind, r.jobId])).toEqual([
      ['tunnel', 'ancient'],
      ['tunnel', 'recent'],
    ]);
  });
});

describe('the gateway daemon with its journal', () => {
  it('journals finished tunnels and devices’ syslog, and spools both for MQTT', async () => {
    const dir = stateDir();
    const closedPort = await freePort();
    const gateway = await startGateway(
      parseGatewayConfig({
        gateway: { id: 'gw1', domain: 'example.com', stateDir: dir },
        cloud: { url: `ws://127.0.0.1:${closedPort}/push`, token: secret(), connections: 1 },
        mqtt: { url: `mqtt://127.0.0.1:${closedPort}`, protocolVersion: 4 },
        journal: { syslog: { udp: { host: '127.0.0.1', port: 0 }, tcp: false } },
      }),
      { logger: silentLogger() },
    );
    let stopped = false;
    defer(() => (stopped ? undefined : gateway.stop()));
    const addresses = await gateway.journal.ready;
    expect(addresses?.tcp).toBeNull();
    const port = addresses?.udp?.port ?? 0;

    gateway.events.emit('tunnel-closed', record('job-42', Date.now()));
    await sendUdp(port, '<134>1 - mfp-3f printer - DONE [job@32473 jobId="job-42"] printed 3 pages');
    await vi.waitFor(() => expect(gateway.journal.store.deviceLogs({ jobId: 'job-42' })).toHaveLength(1));
    expect(gateway.journal.store.tunnels({ jobId: 'job-42' })).toMatchObject([
      { jobId: 'job-42', target: '127.0.0.1:9100', bytesToDevice: 4096, outcome: 'done' },
    ]);

    await gateway.stop();
    stopped = true;
    const spool = new LogSpool(join(dir, 'log-spool.db'), 1000);
    defer(() => spool.close());
    const spooled = spool.oldest(0, 100).map((r) => JSON.parse(r.body) as Record<string, unknown>);
    expect(spooled.filter((r) => r.kind === 'tunnel' || r.kind === 'device-log')).toMatchObject([
      { kind: 'tunnel', jobId: 'job-42', bytesToDevice: 4096 },
      { kind: 'device-log', jobId: 'job-42', source: '127.0.0.1', message: 'printed 3 pages' },
    ]);
    // Stopped means the port is free again.
    const rebind = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      rebind.once('error', reject);
      rebind.bind(port, '127.0.0.1', () => resolve());
    });
    rebind.close();
  });
});
