import { describe, expect, it } from 'vitest';
import { boundsOf, deriveBounds, foldRecords } from '../../../src/cloud/learning/evidence.ts';
import { adviceFromBounds } from '../../../src/cloud/learning/interval-decision.ts';
import { DEFAULT_LEARNING_CONFIG as CONFIG } from '../../../src/cloud/learning/learning-config.ts';
import { nextProbeGap } from '../../../src/cloud/learning/probe-planner.ts';
import { adviceInWords } from '../../../src/protocol/advice-words.ts';
import { LogBuilder, MINUTE, SECOND } from './record-factory.ts';

/** The evidence rules issue 15 asked for, one case per item, on the pure fold. */
describe('evidence rules of issue 15', () => {
  it('item 3: lines of one gateway dying at one moment after different gaps are an outage, not a timeout', () => {
    const log = new LogBuilder()
      .ok(20 * SECOND)
      .ok(22 * SECOND, { role: 'probe', connectionId: 'probe' })
      .ng(23 * SECOND, { connectionId: 'probe', role: 'probe', sessionId: 's-probe' });
    const before = deriveBounds(log.records, log.now, CONFIG);
    expect(before).toMatchObject({ lowerMs: 22 * SECOND, upperMs: 23 * SECOND });
    // A proxy restart: both push lines die within 200 ms, one 21 s idle, the other 147 ms.
    const at = log.now + 5 * MINUTE;
    log
      .ng(21 * SECOND, { connectionId: 'line-0', sessionId: 's0', time: at })
      .ng(4 * SECOND, { connectionId: 'line-1', sessionId: 's1', time: at + 200 });
    const after = deriveBounds(log.records, log.now, CONFIG);
    expect(after.upperMs).toBe(23 * SECOND);
    expect(after.lowerMs).toBe(22 * SECOND);
  });

  it('item 3: a line that died after too short an idle gap makes its partners of that moment an outage', () => {
    // A proxy restart with nothing known yet: one push line had just kept alive (1.9 s idle, below the
    // evidence floor: no middlebox times out that fast), the other sat 21 s. Either order of arrival.
    for (const order of ['short first', 'long first'] as const) {
      const at = 1e12;
      const short = {
        connectionId: 'line-1',
        sessionId: 's1',
        time: at + (order === 'short first' ? 0 : 300),
      };
      const long = {
        connectionId: 'line-0',
        sessionId: 's0',
        time: at + (order === 'short first' ? 300 : 0),
      };
      const log = new LogBuilder().ok(15 * SECOND);
      if (order === 'short first') log.ng(1.9 * SECOND, short).ng(21 * SECOND, long);
      else log.ng(21 * SECOND, long).ng(1.9 * SECOND, short);
      expect(deriveBounds(log.records, log.now, CONFIG), order).toMatchObject({
        lowerMs: 15 * SECOND,
        upperMs: null,
      });
    }
  });

  it('item 3: probes the cloud sent together on several probe lines are not an outage when they fail', () => {
    const probe = (line: string) => ({
      role: 'probe' as const,
      dataType: 'probe' as const,
      connectionId: line,
    });
    const log = new LogBuilder()
      .ok(10 * SECOND)
      .ng(20 * SECOND, { ...probe('probe-0'), sessionId: 'p0', time: 1e12 })
      .ng(40 * SECOND, { ...probe('probe-1'), sessionId: 'p1', time: 1e12 + 100 });
    expect(deriveBounds(log.records, log.now, CONFIG).upperMs).toBe(20 * SECOND);
  });

  it('item 3: lines in phase cut together at a gap they had survived are an outage too', () => {
    // Two push lines keeping alive together (300 ms apart) when the proxy restarts.
    const at = 1e12;
    const log = new LogBuilder()
      .ok(22 * SECOND, { role: 'probe', connectionId: 'probe' })
      .ng(10 * SECOND, { connectionId: 'line-0', sessionId: 's0', time: at })
      .ng(10.3 * SECOND, { connectionId: 'line-1', sessionId: 's1', time: at + 5 });
    expect(deriveBounds(log.records, log.now, CONFIG)).toMatchObject({ lowerMs: 22 * SECOND, upperMs: null });
  });

  it('item 3: a middlebox that got stricter, cutting lines in phase at one gap again, is believed the second time', () => {
    const at = 1e12;
    const log = new LogBuilder()
      .ok(22 * SECOND, { role: 'probe', connectionId: 'probe' })
      .ng(10 * SECOND, { connectionId: 'line-0', sessionId: 's0', time: at })
      .ng(10.3 * SECOND, { connectionId: 'line-1', sessionId: 's1', time: at + 5 })
      .ng(10.1 * SECOND, { connectionId: 'line-0', sessionId: 's2', time: at + 11 * SECOND })
      .ng(10.2 * SECOND, { connectionId: 'line-1', sessionId: 's3', time: at + 11 * SECOND + 5 });
    expect(deriveBounds(log.records, log.now, CONFIG).upperMs).toBe(10.1 * SECOND);
  });

  it('item 3: proxy restarts on different days, each catching lines in phase, stay outages', () => {
    const day = 24 * 60 * MINUTE;
    const log = new LogBuilder().ok(22 * SECOND, { role: 'probe', connectionId: 'probe' });
    for (const [i, gap] of [10 * SECOND, 4 * SECOND, 17 * SECOND].entries()) {
      const at = log.now + day;
      log.ok(20 * SECOND, { time: at - MINUTE });
      log.ng(gap, { connectionId: 'line-0', sessionId: `a${i}`, time: at });
      log.ng(gap + 200, { connectionId: 'line-1', sessionId: `b${i}`, time: at + 3 });
    }
    expect(deriveBounds(log.records, log.now, CONFIG)).toMatchObject({ lowerMs: 22 * SECOND, upperMs: null });
  });

  it('item 3: lines cut together in phase past every gap that worked are a timeout (Squid’s one-second sweep)', () => {
    const at = 1e12;
    const log = new LogBuilder()
      .ok(20 * SECOND)
      .ng(23.2 * SECOND, { connectionId: 'line-0', sessionId: 's0', time: at })
      .ng(23.6 * SECOND, { connectionId: 'line-1', sessionId: 's1', time: at + 2 });
    expect(deriveBounds(log.records, log.now, CONFIG).upperMs).toBe(23.2 * SECOND);
  });

  it('item 3: one line dying alone after an idle gap still lowers U', () => {
    const log = new LogBuilder().ok(20 * SECOND).ng(21 * SECOND, { sessionId: 's0' });
    expect(deriveBounds(log.records, log.now, CONFIG).upperMs).toBe(21 * SECOND);
  });

  it('item 4: a timeout below keepalive.min is learned, not discarded, and the advice warns', () => {
    const log = new LogBuilder();
    for (let i = 0; i < 5; i++) log.ng(7 * SECOND + i * 100, { sessionId: `s${i}` });
    const bounds = deriveBounds(log.records, log.now, CONFIG);
    expect(bounds.upperMs).toBe(7 * SECOND);
    const config = { ...CONFIG, minIntervalMs: 10 * SECOND };
    const advice = adviceFromBounds({ ...bounds, lowerFromDomain: false }, config);
    expect(advice.intervalMs).toBe(10 * SECOND);
    expect(adviceInWords(advice).warning).toMatch(/keepalive\.min/);
    // With the shipped floor (5 s) the same evidence is acted on: half the failing gap, clamped.
    expect(adviceFromBounds({ ...bounds, lowerFromDomain: false }, CONFIG).intervalMs).toBe(5 * SECOND);
  });

  it('item 4: learns down to a few seconds: a 3 s timeout becomes U, L below it is kept', () => {
    const log = new LogBuilder().ok(2.5 * SECOND).ng(3 * SECOND, { sessionId: 's0' });
    expect(deriveBounds(log.records, log.now, CONFIG)).toMatchObject({
      lowerMs: 2.5 * SECOND,
      upperMs: 3 * SECOND,
    });
  });

  it('item 5: one death reported by every reconnecting line counts once', () => {
    const once = new LogBuilder().ok(10 * SECOND).ng(30 * SECOND, { sessionId: 'dead', time: 1e12 });
    const thrice = new LogBuilder().ok(10 * SECOND);
    for (let i = 0; i < 3; i++) thrice.ng(30 * SECOND, { sessionId: 'dead', time: 1e12 });
    const a = foldRecords(null, once.records, { config: CONFIG });
    const b = foldRecords(null, thrice.records, { config: CONFIG });
    expect(b.deaths).toHaveLength(1);
    expect(b).toEqual(a);
  });

  it('item 5: a death reported three times is no lifetime cap; three distinct deaths at one age are', () => {
    const repeated = new LogBuilder().ok(20 * MINUTE, { connectionAgeMs: 20 * MINUTE });
    const distinct = new LogBuilder().ok(20 * MINUTE, { connectionAgeMs: 20 * MINUTE });
    for (let i = 0; i < 3; i++) {
      repeated.wait(10 * MINUTE).ok(50 * SECOND, { connectionAgeMs: 9 * MINUTE });
      distinct.wait(10 * MINUTE).ok(50 * SECOND, { connectionAgeMs: 9 * MINUTE });
      // The same session (the first death) reported again at each later hello, as main did.
      repeated.ng(50 * SECOND, { sessionId: 'first', connectionAgeMs: 10 * MINUTE });
      distinct.ng(50 * SECOND, { sessionId: `s${i}`, connectionAgeMs: 10 * MINUTE });
    }
    expect(deriveBounds(repeated.records, repeated.now, CONFIG).lifetimeCapMs).toBeNull();
    expect(deriveBounds(distinct.records, distinct.now, CONFIG).lifetimeCapMs).not.toBeNull();
  });

  it('item 5: a death is dated when it happened, so an outage partner is found even when reported late', () => {
    // Two lines died together at t; one is reported at once, the other 40 s later at its hello.
    const t = 1e12;
    const log = new LogBuilder()
      .ok(20 * SECOND)
      .ng(22 * SECOND, { connectionId: 'line-0', sessionId: 'a', time: t })
      .ng(3 * SECOND, { connectionId: 'line-1', sessionId: 'b', time: t + 300 });
    expect(deriveBounds(log.records, t + 40 * SECOND, CONFIG).upperMs).toBeNull();
  });

  it('item 12: a push 1 ms after a reconnect is not L, and the probe never bisects below the floor', () => {
    const log = new LogBuilder()
      .ng(40 * SECOND, { sessionId: 's0' })
      .ok(1)
      .ok(188);
    const bounds = deriveBounds(log.records, log.now, CONFIG);
    expect(bounds.lowerMs).toBeNull();
    const gap = nextProbeGap(bounds, CONFIG);
    expect(gap).not.toBeNull();
    expect(gap as number).toBeGreaterThanOrEqual(CONFIG.minIntervalMs);
  });

  it('item 12: a failure after a tiny gap (a reset under traffic) does not wipe L', () => {
    const log = new LogBuilder().ok(20 * SECOND).ng(150, { sessionId: 's0', failure: 'reset' });
    expect(deriveBounds(log.records, log.now, CONFIG)).toMatchObject({ lowerMs: 20 * SECOND, upperMs: null });
  });

  it('issue 14: a loss while the cloud was late never lowers U nor wipes L', () => {
    const log = new LogBuilder().ok(20 * SECOND).ng(21 * SECOND, { sessionId: 's0', failure: 'cloud-late' });
    expect(deriveBounds(log.records, log.now, CONFIG)).toMatchObject({ lowerMs: 20 * SECOND, upperMs: null });
  });

  it('evidence leaves the window: boundsOf a week later knows nothing', () => {
    const log = new LogBuilder().ok(20 * SECOND).ng(30 * SECOND, { sessionId: 's0' });
    const ev = foldRecords(null, log.records, { config: CONFIG });
    expect(boundsOf(ev, log.now + CONFIG.windowMs + 1, CONFIG)).toMatchObject({
      lowerMs: null,
      upperMs: null,
    });
  });
});
