import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFromCloud, encodeMessage } from '../../src/protocol/codec.ts';
import type { KeepaliveAck } from '../../src/protocol/messages.ts';

const ms = fc.integer({ min: 0, max: 10_000_000 });
const advice = fc.record({
  intervalMs: ms,
  source: fc.constantFrom('default', 'history', 'domain', 'probe'),
  basis: fc.constantFrom('default', 'longest-good-gap', 'half-failing-gap'),
  mcvtMs: fc.option(ms),
  lowerBoundMs: fc.option(ms),
  upperBoundMs: fc.option(ms),
  lifetimeCapMs: fc.option(ms),
  reconnectBeforeAgeMs: fc.option(ms),
  converged: fc.boolean(),
}) as fc.Arbitrary<KeepaliveAck['advice']>;

describe('keep-alive answers, encoded with their advice’s JSON kept', () => {
  it('are the text JSON.stringify writes, and decode to the answer, advice frozen or not', () => {
    fc.assert(
      fc.property(
        advice,
        fc.boolean(),
        fc.array(fc.record({ seq: fc.nat(), probing: fc.boolean() }), { minLength: 1, maxLength: 4 }),
        (shared, frozen, answers) => {
          if (frozen) Object.freeze(shared);
          for (const { seq, probing } of answers) {
            const ack: KeepaliveAck = {
              type: 'keepalive-ack',
              seq,
              advice: shared,
              ...(probing ? { probe: true, probeLines: 3 } : { probe: false }),
            };
            const text = encodeMessage(ack);
            expect(text).toBe(JSON.stringify(ack));
            const decoded = decodeFromCloud(text);
            expect(decoded).toEqual({ ok: true, message: ack });
          }
        },
      ),
    );
  });

  it('follow a new advice object at once', () => {
    const first = Object.freeze({
      intervalMs: 25_000,
      source: 'default' as const,
      mcvtMs: null,
      lowerBoundMs: null,
      upperBoundMs: null,
      lifetimeCapMs: null,
      reconnectBeforeAgeMs: null,
      converged: false,
    });
    const next = Object.freeze({ ...first, intervalMs: 20_000, source: 'history' as const });
    const ack = (a: KeepaliveAck['advice']): KeepaliveAck => ({
      type: 'keepalive-ack',
      seq: 1,
      advice: a,
      probe: false,
    });
    expect(JSON.parse(encodeMessage(ack(first))).advice.intervalMs).toBe(25_000);
    expect(JSON.parse(encodeMessage(ack(next))).advice).toEqual(next);
  });
});
