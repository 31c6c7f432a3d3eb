import { describe, expect, it } from 'vitest';
import { type Bounds, deriveBounds } from '../../../src/cloud/learning/evidence.ts';
import { decideAdvice, domainBounds, peersAgree } from '../../../src/cloud/learning/interval-decision.ts';
import { DEFAULT_LEARNING_CONFIG as CONFIG } from '../../../src/cloud/learning/learning-config.ts';
import type { StatusRecord } from '../../../src/cloud/learning/status-record.ts';
import { HOUR, LogBuilder, MINUTE, SECOND, T0 } from './record-factory.ts';

const NOW = T0 + HOUR;

function bounds(records: readonly StatusRecord[], now = NOW, siteCapMs: number | null = null): Bounds {
  return deriveBounds(records, now, CONFIG, siteCapMs);
}

function advise(own: readonly StatusRecord[], peers: ReadonlyArray<readonly StatusRecord[]> = []) {
  return decideAdvice({ own: bounds(own), peers: peers.map((p) => bounds(p)), config: CONFIG });
}

describe('decideAdvice', () => {
  it('advises the default when nothing is known', () => {
    expect(advise([])).toMatchObject({
      intervalMs: 25 * SECOND,
      source: 'default',
      basis: 'default',
      mcvtMs: null,
      converged: false,
      lifetimeCapMs: null,
      reconnectBeforeAgeMs: null,
    });
  });

  it('keeps the default while a failure above it does not contradict it', () => {
    expect(advise(new LogBuilder().ng(40 * SECOND).records)).toMatchObject({
      intervalMs: 25 * SECOND,
      basis: 'default',
      upperBoundMs: 40 * SECOND,
    });
  });

  it('halves a failing gap below the default while nothing good is known (lines live while probing narrows it)', () => {
    expect(advise(new LogBuilder().ng(20 * SECOND).records)).toMatchObject({
      intervalMs: 10 * SECOND,
      source: 'history',
      basis: 'half-failing-gap',
      upperBoundMs: 20 * SECOND,
    });
  });

  it('advises L minus the margin once L and U are known, not U minus it (issue 15 item 2)', () => {
    // Squid at 23 s with its one-second rounding: 22 s worked, 23.5 s failed.
    const own = new LogBuilder()
      .ok(22.5 * SECOND, { role: 'probe' })
      .ng(23.5 * SECOND, { role: 'probe' }).records;
    expect(advise(own)).toMatchObject({
      intervalMs: 21_375,
      source: 'probe',
      basis: 'longest-good-gap',
      converged: true,
    });
  });

  it('advises the longest good gap minus the margin, naming the probe line when it found it', () => {
    const own = new LogBuilder().ok(20 * MINUTE, { role: 'probe' }).ok(10 * MINUTE).records;
    expect(advise(own)).toMatchObject({ intervalMs: 19 * MINUTE, source: 'probe', mcvtMs: 20 * MINUTE });
  });

  it('names the push lines (history) when they found it', () => {
    const own = new LogBuilder().ok(20 * MINUTE).records;
    expect(advise(own)).toMatchObject({ intervalMs: 19 * MINUTE, source: 'history' });
  });

  it('does not let a short success drag the advice below the default', () => {
    const own = new LogBuilder().ok(12 * SECOND).records;
    expect(advise(own)).toMatchObject({
      intervalMs: 25 * SECOND,
      source: 'default',
      lowerBoundMs: 12 * SECOND,
    });
  });

  it('clamps to the configured ceiling', () => {
    const log = new LogBuilder().ok(300 * HOUR);
    expect(decideAdvice({ own: bounds(log.records, log.now), peers: [], config: CONFIG }).intervalMs).toBe(
      CONFIG.maxIntervalMs,
    );
  });

  it('reports convergence when U and L are within the tolerance', () => {
    const own = new LogBuilder()
      .ok(58 * MINUTE, { role: 'probe' })
      .ng(60 * MINUTE, { role: 'probe' }).records;
    expect(advise(own)).toMatchObject({
      converged: true,
      lowerBoundMs: 58 * MINUTE,
      upperBoundMs: 60 * MINUTE,
    });
  });

  it('does not shorten keep-alives for a lifetime cap, but asks for replacement before it', () => {
    const log = new LogBuilder().ok(20 * MINUTE, { role: 'probe', connectionAgeMs: 20 * MINUTE });
    for (let i = 0; i < 3; i++) {
      log.wait(10 * MINUTE).ok(50 * SECOND, { connectionAgeMs: 9 * MINUTE });
      log.ng(50 * SECOND, { connectionAgeMs: 10 * MINUTE, failure: 'keepalive-timeout' });
    }
    const advice = decideAdvice({ own: bounds(log.records, log.now), peers: [], config: CONFIG });
    expect(advice.intervalMs).toBe(19 * MINUTE);
    expect(advice.upperBoundMs).toBeNull();
    expect(advice.lifetimeCapMs).toBe(9 * MINUTE + 10 * SECOND);
    expect(advice.reconnectBeforeAgeMs).toBe(Math.floor((9 * MINUTE + 10 * SECOND) * 0.9));
  });

  describe('identical domain', () => {
    const learned = new LogBuilder('gw-peer').ok(14 * MINUTE, { role: 'probe' }).ng(14.5 * MINUTE).records;
    const confirming = new LogBuilder('gw-other').ok(13 * MINUTE).records;

    it('gives a gateway with no history the value its site learned, once two gateways agree', () => {
      expect(advise([], [learned, confirming])).toMatchObject({
        intervalMs: 13.3 * MINUTE,
        source: 'domain',
        converged: true,
      });
    });

    it('does not take one peer’s word alone (issue 18 item 7)', () => {
      expect(advise([], [learned])).toMatchObject({ intervalMs: 25 * SECOND, source: 'default' });
    });

    it('counts its own evidence as one of the two when it agrees', () => {
      const own = new LogBuilder().ok(25 * SECOND).records;
      expect(advise(own, [learned])).toMatchObject({ intervalMs: 13.3 * MINUTE, source: 'domain' });
    });

    it('shares a single peer’s value when configured to (domainMinAgreeing 1)', () => {
      const config = { ...CONFIG, domainMinAgreeing: 1 };
      expect(decideAdvice({ own: bounds([]), peers: [bounds(learned)], config })).toMatchObject({
        source: 'domain',
      });
    });

    it('does not share when the peers disagree', () => {
      const other = new LogBuilder('gw-other').ok(HOUR, { role: 'probe' }).records;
      expect(advise([], [learned, other])).toMatchObject({ intervalMs: 25 * SECOND, source: 'default' });
    });

    it('lets own failures win over a peer success', () => {
      const own = new LogBuilder().ng(10 * MINUTE).records;
      expect(advise(own, [learned, confirming])).toMatchObject({
        source: 'default',
        upperBoundMs: 10 * MINUTE,
      });
    });

    it('prefers its own longer evidence', () => {
      const own = new LogBuilder().ok(14.2 * MINUTE, { role: 'probe' }).records;
      expect(advise(own, [learned, confirming])).toMatchObject({
        source: 'probe',
        lowerBoundMs: 14.2 * MINUTE,
      });
    });

    it('applies a cap a peer proved to its own first deaths', () => {
      const peer = cappedPeer();
      const peerBounds = bounds(peer.records, peer.now);
      const own = new LogBuilder().ok(4 * MINUTE, { connectionAgeMs: 4 * MINUTE }).ng(MINUTE, {
        connectionAgeMs: 10 * MINUTE,
      }).records;
      const ownBounds = bounds(own, peer.now, peerBounds.lifetimeCapMs);
      const advice = decideAdvice({ own: ownBounds, peers: [peerBounds], config: CONFIG });
      expect(advice.upperBoundMs).toBeNull();
      expect(advice.lifetimeCapMs).not.toBeNull();
      expect(advice.lowerBoundMs).toBe(5 * MINUTE);
    });
  });
});

/** A peer whose lines die at age 10 min, three generations of it, after a 5 min success. */
function cappedPeer(): LogBuilder {
  const peer = new LogBuilder('gw-peer').ok(5 * MINUTE, { connectionAgeMs: 5 * MINUTE });
  for (let i = 0; i < 3; i++) {
    peer.wait(10 * MINUTE).ok(50 * SECOND, { connectionAgeMs: 9 * MINUTE });
    peer.ng(50 * SECOND, { connectionAgeMs: 10 * MINUTE });
  }
  return peer;
}

describe('domainBounds and peersAgree', () => {
  it('ignores peers that know nothing', () => {
    expect(domainBounds([bounds([]), bounds([])], CONFIG)).toBeNull();
  });

  it('combines agreeing peers: the longest good gap below the shortest failing one, the shortest cap', () => {
    const a = { lowerMs: 50 * MINUTE, upperMs: null, lifetimeCapMs: 2 * HOUR, lowerFrom: 'probe' as const };
    const b = { lowerMs: 40 * MINUTE, upperMs: 55 * MINUTE, lifetimeCapMs: null, lowerFrom: 'push' as const };
    expect(domainBounds([a, b], CONFIG)).toEqual({
      lowerMs: 50 * MINUTE,
      upperMs: 55 * MINUTE,
      lifetimeCapMs: 2 * HOUR,
      lowerFrom: 'probe',
    });
  });

  it('accepts a small inconsistency within the agreement fraction', () => {
    const a = { lowerMs: 61 * MINUTE, upperMs: null, lifetimeCapMs: null, lowerFrom: null };
    const b = { lowerMs: null, upperMs: 60 * MINUTE, lifetimeCapMs: null, lowerFrom: null };
    expect(peersAgree([a, b], CONFIG)).toBe(true);
    expect(peersAgree([{ ...a, lowerMs: 70 * MINUTE }, b], CONFIG)).toBe(false);
  });

  it('rejects peers with different lifetime caps', () => {
    const a = { lowerMs: null, upperMs: null, lifetimeCapMs: HOUR, lowerFrom: null };
    expect(peersAgree([a, { ...a, lifetimeCapMs: 2 * HOUR }], CONFIG)).toBe(false);
  });
});
