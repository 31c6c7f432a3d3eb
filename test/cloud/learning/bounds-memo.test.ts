import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundsOf, foldRecords } from '../../../src/cloud/learning/evidence.ts';
import { DEFAULT_LEARNING_CONFIG as CONFIG } from '../../../src/cloud/learning/learning-config.ts';
import { DAY, HOUR, LogBuilder, MINUTE } from './record-factory.ts';

describe('bounds reused until a mark leaves the window', () => {
  it('are the bounds computed afresh, whatever the evidence and however time moves', () => {
    const step = fc.record({
      ok: fc.boolean(),
      idleMs: fc.integer({ min: 1_000, max: 2 * HOUR }),
      waitMs: fc.integer({ min: 0, max: 3 * DAY }),
    });
    fc.assert(
      fc.property(
        fc.array(step, { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: -HOUR, max: 10 * DAY }), { minLength: 1, maxLength: 12 }),
        (steps, queries) => {
          const log = new LogBuilder();
          for (const s of steps) {
            log.wait(s.waitMs);
            if (s.ok) log.ok(s.idleMs);
            else log.ng(s.idleMs, { failure: 'keepalive-timeout' });
          }
          const evidence = foldRecords(null, log.records, { config: CONFIG });
          let now = log.now;
          for (const q of queries) {
            now += q;
            // A copy has no memo: its bounds are computed from scratch.
            expect(boundsOf(evidence, now, CONFIG)).toEqual(boundsOf(structuredClone(evidence), now, CONFIG));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('let a success leave the window at its end', () => {
    const log = new LogBuilder().ok(40_000);
    const evidence = foldRecords(null, log.records, { config: CONFIG });
    const made = log.records[0]?.time ?? 0;
    expect(boundsOf(evidence, made + MINUTE, CONFIG).lowerMs).toBe(40_000);
    expect(boundsOf(evidence, made + CONFIG.windowMs, CONFIG).lowerMs).toBe(40_000);
    expect(boundsOf(evidence, made + CONFIG.windowMs + 1, CONFIG).lowerMs).toBeNull();
  });
});
