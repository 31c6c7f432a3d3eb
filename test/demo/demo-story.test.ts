import { describe, expect, it } from 'vitest';
import { DemoStory, elapsed, type GatewayView, seconds } from '../../src/demo/demo-story.ts';
import type { LineStatus } from '../../src/gateway/link/push-line.ts';
import type { Advice } from '../../src/protocol/messages.ts';

const line = (role: 'push' | 'probe', keepaliveMs: number): LineStatus => ({
  id: role === 'push' ? 'line-0' : 'probe',
  role,
  state: 'open',
  connectedSince: 0,
  lastTrafficAt: 0,
  reconnects: 0,
  keepaliveMs,
  limitedByPolicy: false,
  lastError: null,
});

const advice = (intervalMs: number, lowerBoundMs: number | null, upperBoundMs: number | null): Advice => ({
  intervalMs,
  source: 'probe',
  mcvtMs: null,
  lowerBoundMs,
  upperBoundMs,
  lifetimeCapMs: null,
  reconnectBeforeAgeMs: null,
  converged: false,
});

const view = (inUse: number, a: Advice | null, probing: boolean): GatewayView => ({
  lines: [line('push', inUse), line('probe', 60_000)],
  advice: a,
  probing,
});

describe('the demo’s story', () => {
  it('formats +mm:ss and durations as people read them', () => {
    expect(elapsed(178_400)).toBe('+02:58');
    expect(seconds(19_700)).toBe('19.7 s');
    expect(seconds(5000)).toBe('5 s');
    expect(seconds(250)).toBe('250 ms');
  });

  it('tells the interval in use, the first failure, the bounds, the probe’s end once; then the summary', () => {
    const lines: string[] = [];
    const story = new DemoStory(0, (l) => lines.push(l));
    story.observe(1000, view(5000, advice(5000, null, null), true));
    story.observe(2000, view(5000, advice(5000, null, null), true));
    // The advice moves first; the lines take it up at their next keep-alive.
    story.observe(41_000, view(5000, advice(9500, 10_000, 20_500), true));
    story.observe(42_000, view(9500, advice(9500, 10_000, 20_500), true));
    // A change too small to be seen in tenths of a second is not told again.
    story.observe(43_000, view(9520, advice(9520, 10_020, 20_500), true));
    story.observe(178_000, view(18_700, advice(18_700, 19_700, 20_500), false));
    story.observe(179_000, view(18_700, advice(18_700, 19_700, 20_500), false));
    expect(lines).toEqual([
      "+00:01 push lines up; keep-alive every 5 s until the cloud has learned the firewall's timeout",
      '+00:01 the cloud opened probe lines: they stay idle for longer and longer until the firewall drops them',
      '+00:41 first failure: a line idle for 20.5 s died → the firewall forgets idle connections within 20.5 s',
      '+00:42 timeout between 10 s and 20.5 s → keep-alive every 9.5 s',
      '+02:58 probe finished: timeout between 19.7 s and 20.5 s → keep-alive 18.7 s',
    ]);
    expect(story.probeFinished).toBe(true);
    expect(story.summary(200_000)).toEqual([
      'firewall timeout  between 19.7 s and 20.5 s',
      'keep-alive        every 18.7 s (started at 5 s); learned in 02:58 (mm:ss)',
    ]);
  });
});
