import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import type { LinkStatus } from '../../../src/gateway/link/line-supervisor.ts';
import type { LineStatus } from '../../../src/gateway/link/push-line.ts';
import { notifySystemd, ServiceNotifier } from '../../../src/gateway/systemd/service-notifier.ts';
import { watchdogPingIntervalMs } from '../../../src/gateway/systemd/watchdog.ts';
import { silentLogger } from '../../../src/log/logger.ts';

/** Lets queued sends run. */
const settle = () => new Promise((r) => setImmediate(r));

function recorder() {
  const sent: string[][] = [];
  return { sent, transport: { send: async (fields: readonly string[]) => void sent.push([...fields]) } };
}

describe('watchdog ping interval', () => {
  it('is half of WATCHDOG_USEC, in milliseconds', () => {
    expect(watchdogPingIntervalMs({ WATCHDOG_USEC: '30000000' }, 42)).toBe(15_000);
    expect(watchdogPingIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42)).toBe(15_000);
  });

  it('is off without a watchdog, with a bad value, or when it is meant for another process', () => {
    expect(watchdogPingIntervalMs({}, 42)).toBeNull();
    expect(watchdogPingIntervalMs({ WATCHDOG_USEC: '0' }, 42)).toBeNull();
    expect(watchdogPingIntervalMs({ WATCHDOG_USEC: 'soon' }, 42)).toBeNull();
    expect(watchdogPingIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, 42)).toBeNull();
  });
});

describe('service notifier', () => {
  it('says READY=1, pings on the clock, reports changed status only, and stops pinging when stopping', async () => {
    const clock = new ManualClock();
    const { sent, transport } = recorder();
    const notifier = new ServiceNotifier({ transport, clock, watchdogIntervalMs: 15_000 });
    notifier.ready('0/2 push lines up');
    for (let i = 0; i < 3; i++) {
      clock.advance(15_000);
      await settle();
    }
    notifier.status('2/2 push lines up');
    notifier.status('2/2 push lines up');
    await notifier.stopping();
    clock.advance(60_000);
    await settle();
    expect(sent).toEqual([
      ['READY=1', 'STATUS=0/2 push lines up'],
      ['WATCHDOG=1'],
      ['WATCHDOG=1'],
      ['WATCHDOG=1'],
      ['STATUS=2/2 push lines up'],
      ['STOPPING=1', 'STATUS=stopping'],
    ]);
    expect(clock.pendingCount()).toBe(0);
  });

  it('sends no pings without a watchdog', async () => {
    const clock = new ManualClock();
    const { sent, transport } = recorder();
    new ServiceNotifier({ transport, clock, watchdogIntervalMs: null }).ready('up');
    clock.advance(3_600_000);
    await settle();
    expect(sent).toEqual([['READY=1', 'STATUS=up']]);
  });

  it('does not pile up pings behind a message systemd has not taken yet', async () => {
    const clock = new ManualClock();
    const sent: string[][] = [];
    const stuck = {
      send: (fields: readonly string[]) => new Promise<void>(() => void sent.push([...fields])),
    };
    new ServiceNotifier({ transport: stuck, clock, watchdogIntervalMs: 1000 }).ready('up');
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      await settle();
    }
    expect(sent).toEqual([['READY=1', 'STATUS=up']]);
  });
});

describe('notifySystemd', () => {
  const line = (id: string, role: 'push' | 'probe'): LineStatus => ({
    id,
    role,
    state: 'open',
    connectedSince: null,
    lastTrafficAt: null,
    reconnects: 0,
    keepaliveMs: null,
    limitedByPolicy: false,
    lastError: null,
  });

  function fakeLink() {
    const status: LinkStatus = {
      lines: [line('line-0', 'push'), line('line-1', 'push')],
      linesUp: 0,
      advice: null,
      representative: false,
      probing: false,
    };
    const emitter = new EventEmitter<{ change: []; push: [never] }>();
    return Object.assign(emitter, { status: () => status, current: status });
  }

  it('does nothing outside systemd (no NOTIFY_SOCKET)', async () => {
    const { sent, transport } = recorder();
    const link = fakeLink();
    await notifySystemd(link, { logger: silentLogger(), env: {}, transport }).stopping();
    expect(sent).toEqual([]);
    expect(link.listenerCount('change')).toBe(0);
  });

  it('reports push lines up as they change, then lets go of the link', async () => {
    const { sent, transport } = recorder();
    const link = fakeLink();
    const handle = notifySystemd(link, {
      logger: silentLogger(),
      env: { NOTIFY_SOCKET: '/run/systemd/notify' },
      clock: new ManualClock(),
      transport,
    });
    link.current.linesUp = 1;
    link.emit('change');
    link.emit('change');
    link.current.linesUp = 2;
    link.current.probing = true;
    link.emit('change');
    await handle.stopping();
    expect(link.listenerCount('change')).toBe(0);
    expect(sent).toEqual([
      ['READY=1', 'STATUS=0/2 push lines up'],
      ['STATUS=1/2 push lines up'],
      ['STATUS=2/2 push lines up, probing'],
      ['STOPPING=1', 'STATUS=stopping'],
    ]);
  });
});
