import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { KeepaliveAdvisor } from '../../../src/cloud/advisor/keepalive-advisor.ts';
import { DEFAULT_LEARNING_CONFIG } from '../../../src/cloud/learning/learning-config.ts';
import type { CloudLine } from '../../../src/cloud/push/cloud-line.ts';
import { GatewayDirectory } from '../../../src/cloud/push/gateway-directory.ts';
import type { LearningStore } from '../../../src/cloud/status/learning-store.ts';
import { silentLogger } from '../../../src/log/logger.ts';

const HOUR = 3_600_000;

/** Just what the directory reads of a line: its ids and that it is open. */
function line(gatewayId: string): CloudLine {
  return { gatewayId, connectionId: 'line-0', role: 'push', isOpen: true } as unknown as CloudLine;
}

function site(clock: ManualClock) {
  const directory = new GatewayDirectory(clock);
  const advisor = new KeepaliveAdvisor({
    store: {} as LearningStore,
    directory,
    config: DEFAULT_LEARNING_CONFIG,
    clock,
    logger: silentLogger(),
    probeEnabled: true,
  });
  for (const [id, cpuLoad] of [
    ['gw-a', 0.1],
    ['gw-b', 0.6],
  ] as const) {
    directory.add(line(id), {
      gatewayId: id,
      clientId: `${id}-client`,
      domain: 'example.co.jp',
      siteKey: 'example.co.jp|203.0.113.7',
      egressAddress: '203.0.113.7',
      uptimeAtHelloMs: 5 * HOUR,
      helloAt: clock.now(),
      cpuLoad,
      powerMode: 'normal',
    });
  }
  return { directory, advisor };
}

describe('representative election on fresh CPU load (issue 18 item 8)', () => {
  it('elects by the load the hellos gave while nothing newer came', () => {
    const { advisor } = site(new ManualClock());
    expect(advisor.isRepresentative('gw-a')).toBe(true);
    expect(advisor.isRepresentative('gw-b')).toBe(false);
  });

  it('follows the CPU usage the keep-alives carry, not the stale hello', () => {
    const clock = new ManualClock();
    const { directory, advisor } = site(clock);
    clock.advance(10 * 60_000);
    directory.noteLoad('gw-a', { cpuUsage: 0.9 });
    directory.noteLoad('gw-b', { cpuUsage: 0.05 });
    expect(advisor.isRepresentative('gw-b')).toBe(true);
    expect(advisor.isRepresentative('gw-a')).toBe(false);
  });

  it('keeps the last usage when a keep-alive carries none (an older gateway)', () => {
    const clock = new ManualClock();
    const { directory } = site(clock);
    directory.noteLoad('gw-a', { cpuUsage: 0.7 });
    directory.noteLoad('gw-a', {});
    expect(directory.cpuLoadNow(directory.get('gw-a') as NonNullable<ReturnType<typeof directory.get>>)).toBe(
      0.7,
    );
  });
});
