import { describe, expect, it } from 'vitest';
import { decideAdvice, domainBounds, peersAgree } from '../../../src/cloud/learning/interval-decision.ts';
import { DEFAULT_LEARNING_CONFIG as CONFIG } from '../../../src/cloud/learning/learning-config.ts';
import type { StatusRecord } from '../../../src/cloud/learning/status-record.ts';
import { HOUR, LogBuilder, MINUTE, SECOND, T0 } from './record-factory.ts';

const NOW = T0 + HOUR;

function advise(own: readonly StatusRecord[], domainPeers: ReadonlyArray<readonly StatusRecord[]> = []) {
  return decideAdvice({ own, domainPeers, now: NOW, config: CONFIG });
}

describe('decideAdvice', () => {
  it('advises the default when nothing is known', () => {
    expect(advise([])).toMatchObject({
      intervalMs: 50 * SECOND,
      source: 'default',
      mcvtMs: null,
      converged: false,
      lifetimeCapMs: null,
      reconnectBeforeAgeMs: null,
    });
  });

  it('goes below a known failure that is under the default, with the margin', () => {
    const own = new LogBuilder().ng(40 * SECOND).records;
    expect(advise(own)).toMatchObject({
      intervalMs: 38 * SECOND,
      source: 'default',
      upperBoundMs: 40 * SECOND,
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
    const own = new LogBuilder().ok(2 * SECOND).records;
    expect(advise(own)).toMatchObject({
      intervalMs: 50 * SECOND,
      source: 'default',
      lowerBoundMs: 2 * SECOND,
    });
  });

  it('clamps to the configured ceiling', () => {
    const log = new LogBuilder().ok(300 * HOUR);
    expect(decideAdvice({ own: log.records, domainPeers: [], now: log.now, config: CONFIG }).intervalMs).toBe(
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
    const advice = decideAdvice({ own: log.records, domainPeers: [], now: log.now, config: CONFIG });
    expect(advice.intervalMs).toBe(19 * MINUTE);
    expect(advice.upperBoundMs).toBeNull();
    expect(advice.lifetimeCapMs).toBe(9 * MINUTE + 10 * SECOND);
    expect(advice.reconnectBeforeAgeMs).toBe(Math.floor((9 * MINUTE + 10 * SECOND) * 0.9));
  });

  describe('identical domain', () => {
    const learned = new LogBuilder('gw-peer').ok(14 * MINUTE, { role: 'probe' }).ng(14.5 * MINUTE).records;

    it('gives a gateway with no history the value its site learned', () => {
      expect(advise([], [learned])).toMatchObject({
        intervalMs: 13.3 * MINUTE,
        source: 'domain',
        converged: true,
      });
    });

    it('does not share when the peers disagree', () => {
      const other = new LogBuilder('gw-other').ok(HOUR, { role: 'probe' }).records;
      expect(advise([], [learned, other])).toMatchObject({ intervalMs: 50 * SECOND, source: 'default' });
    });

    it('lets own failures win over a peer success', () => {
      const own = new LogBuilder().ng(10 * MINUTE).records;
      expect(advise(own, [learned])).toMatchObject({ source: 'default', upperBoundMs: 10 * MINUTE });
    });

    it('prefers its own longer evidence', () => {
      const own = new LogBuilder().ok(14.2 * MINUTE, { role: 'probe' }).records;
      expect(advise(own, [learned])).toMatchObject({ source: 'probe', lowerBoundMs: 14.2 * MINUTE });
    });

    it('applies a cap a peer proved to its own first deaths', () => {
      const peer = cappedPeer();
      const own = new LogBuilder().ok(4 * MINUTE, { connectionAgeMs: 4 * MINUTE }).ng(MINUTE, {
        connectionAgeMs: 10 * MINUTE,
      }).records;
      const advice = decideAdvice({ own, domainPeers: [peer.records], now: peer.now, config: CONFIG });
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
    expect(domainBounds([[]], NOW, CONFIG)).toBeNull();
  });

  it("explains one peer's early deaths by the cap another peer proved, so they still agree", () => {
    const capped = cappedPeer();
    const young = new LogBuilder('gw-young', capped.now - 20 * MINUTE)
      .ok(4 * MINUTE, { connectionAgeMs: 4 * MINUTE })
      .ng(MINUTE, { connectionAgeMs: 10 * MINUTE });
    const site = domainBounds([capped.records, young.records], capped.now, CONFIG);
    expect(site).toMatchObject({ lowerMs: 5 * MINUTE, upperMs: null });
    expect(site?.lifetimeCapMs).not.toBeNull();
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
