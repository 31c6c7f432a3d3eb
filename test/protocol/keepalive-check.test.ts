import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFromGateway } from '../../src/protocol/codec.ts';
import { checkKeepalive } from '../../src/protocol/keepalive-check.ts';
import { keepaliveSchema } from '../../src/protocol/messages.ts';

/** Values around every bound the schema checks, and some of the wrong type. */
const edgy = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 0.5, 1.0000001, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), 1e308, null, '', 'x', true),
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 70 }),
  fc.boolean(),
  fc.constant(undefined),
);

/** Keep-alives as JSON could bring them: mostly well formed, each field sometimes odd or missing. */
const keepalives = fc.record(
  {
    type: fc.oneof(fc.constant('keepalive'), fc.constantFrom('load', 'Keepalive', 1)),
    seq: fc.oneof(fc.nat(), edgy),
    powerMode: fc.oneof(
      fc.constantFrom('normal', 'power-saving'),
      fc.string({ minLength: 60, maxLength: 70 }),
      edgy,
    ),
    keepaliveMs: fc.oneof(fc.nat(), fc.double({ min: 0, noNaN: true }), edgy),
    policyLimited: fc.oneof(fc.boolean(), edgy),
    cpuUsage: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constant(null), edgy),
    lineBytesPerSec: fc.oneof(fc.nat(), fc.constant(null), edgy),
    extra: fc.anything(),
  },
  { requiredKeys: [] },
);

describe('the keep-alive check', () => {
  it('accepts only what the schema accepts, with the same result', () => {
    fc.assert(
      fc.property(keepalives, (value) => {
        // What JSON can carry: no undefined, no NaN or infinities (they arrive as null).
        const wire = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
        const checked = checkKeepalive(wire);
        const parsed = keepaliveSchema.safeParse(wire);
        if (checked !== undefined) {
          expect(parsed.success).toBe(true);
          expect(checked).toStrictEqual(parsed.data);
        }
      }),
      { numRuns: 20_000 },
    );
  });

  it('takes the well-formed keep-alives a gateway sends, and drops fields the schema drops', () => {
    const sent = {
      type: 'keepalive',
      seq: 7,
      powerMode: 'normal',
      keepaliveMs: 47_690,
      policyLimited: false,
      cpuUsage: 0.12,
      lineBytesPerSec: null,
      from: 'a newer gateway',
    };
    const expected = keepaliveSchema.parse(sent);
    expect(checkKeepalive(sent)).toStrictEqual(expected);
    expect(decodeFromGateway(JSON.stringify(sent))).toStrictEqual({ ok: true, message: expected });
  });

  it('leaves a malformed keep-alive to the schema, which names what is wrong', () => {
    const bad = { type: 'keepalive', seq: -1, powerMode: 'normal', keepaliveMs: 1, policyLimited: false };
    expect(checkKeepalive(bad)).toBeUndefined();
    const decoded = decodeFromGateway(JSON.stringify(bad));
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.message).toContain('seq');
  });
});
