import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { parseGatewayConfig } from '../../../src/config/gateway-config.ts';
import type { GatewayContext, GatewayEvents } from '../../../src/gateway/gateway-context.ts';
import { HeapTrimFeature } from '../../../src/gateway/host/heap-trim-feature.ts';
import { HeapTrimmer, TRIM_EVERY_MS } from '../../../src/gateway/host/heap-trimmer.ts';
import { EventBus } from '../../../src/lifecycle/event-bus.ts';
import type { Logger } from '../../../src/log/logger.ts';
import { capturedLogs } from '../../support/captured-logs.ts';

const DAY_MS = 24 * 3_600_000;

describe('heap trimmer', () => {
  it('trims once a minute of monotonic time, a day long, and not before the first minute', () => {
    const clock = new ManualClock();
    let trims = 0;
    const trimmer = new HeapTrimmer({ clock, trim: () => ++trims > 0 });
    trimmer.start();
    clock.advance(TRIM_EVERY_MS - 1);
    expect(trims).toBe(0);
    clock.advance(1);
    expect(trims).toBe(1);
    clock.advance(DAY_MS);
    expect(trims).toBe(1 + DAY_MS / TRIM_EVERY_MS);
    trimmer.stop();
  });

  it('stops, and a second start does not double the pace', () => {
    const clock = new ManualClock();
    let trims = 0;
    const trimmer = new HeapTrimmer({ clock, trim: () => ++trims > 0, everyMs: 1000 });
    trimmer.start();
    trimmer.start();
    clock.advance(10_000);
    expect(trims).toBe(10);
    trimmer.stop();
    clock.advance(10_000);
    expect(trims).toBe(10);
    expect(clock.pendingCount()).toBe(0);
  });

  it('refuses a period that is not above zero', () => {
    expect(() => new HeapTrimmer({ clock: new ManualClock(), trim: () => true, everyMs: 0 })).toThrow(
      /everyMs must be above 0, not 0/,
    );
  });
});

function context(clock: ManualClock, logger: Logger): GatewayContext {
  const config = parseGatewayConfig({
    gateway: { id: 'office-1', stateDir: mkdtempSync(join(tmpdir(), 'heap-trim-')) },
    cloud: { url: 'wss://cloud.example.com/push', token: 'a'.repeat(32) },
  });
  return {
    config,
    clock,
    logger,
    bus: new EventBus<GatewayEvents>(logger),
    env: {},
    clientId: 'c',
    software: 'test',
  };
}

describe('heap trim feature', () => {
  it('trims every minute from start to stop when the addon is there', () => {
    const clock = new ManualClock();
    const { logger, logs } = capturedLogs();
    let trims = 0;
    const feature = new HeapTrimFeature(context(clock, logger), () => ({ trim: () => ++trims > 0 }));
    feature.start();
    clock.advance(3 * TRIM_EVERY_MS);
    expect(trims).toBe(3);
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'heap trimming on', everyMs: TRIM_EVERY_MS }));
    feature.stop();
    clock.advance(3 * TRIM_EVERY_MS);
    expect(trims).toBe(3);
  });

  it('runs without it, saying why, when the addon is missing', () => {
    const clock = new ManualClock();
    const { logger, logs } = capturedLogs();
    const feature = new HeapTrimFeature(context(clock, logger), () => ({
      unavailable: '/x/malloc-trim.node is not there',
    }));
    feature.start();
    expect(clock.pendingCount()).toBe(0);
    expect(logs).toContainEqual(
      expect.objectContaining({ msg: 'heap trimming off', reason: '/x/malloc-trim.node is not there' }),
    );
    feature.stop();
  });
});
