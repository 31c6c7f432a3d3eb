import { describe, expect, it } from 'vitest';
import { Firewall } from '../../../bench/sim/firewall.ts';
import { ManualClock } from '../../../src/clock/manual-clock.ts';

const T = 7_000;

/** A closing middlebox (a proxy) on a manual clock, and the closes it reported, as offsets. */
function closingProxy(extra: { lifetimeCapMs?: number } = {}) {
  const clock = new ManualClock();
  const start = clock.now();
  const firewall = new Firewall({ idleTimeoutMs: T, onExpiry: 'close', clock, ...extra });
  const closes: Array<{ flow: string; at: number }> = [];
  const open = (flow: string): number =>
    firewall.open(clock.now(), () => closes.push({ flow, at: clock.now() - start }));
  const at = (offset: number, fn: () => void) => clock.setTimeout(fn, start + offset - clock.now());
  return { clock, start, firewall, closes, open, at };
}

describe("the bench's middlebox in 'close' mode (a proxy timing a tunnel out)", () => {
  it('closes an idle flow at the moment it has been idle T, and tells once, with no packet sent', () => {
    const { clock, start, firewall, closes, open } = closingProxy();
    const id = open('a');
    clock.advanceTo(start + T - 1);
    expect(closes).toEqual([]);
    clock.advanceTo(start + 10 * T);
    expect(closes).toEqual([{ flow: 'a', at: T }]);
    // The flow is gone for both ends, and still says when it died (a zero-length dark spell).
    expect(firewall.pass(id, clock.now())).toBe(false);
    expect(firewall.deathAt(id)).toBe(start + T);
    expect(firewall.resets).toBe(true);
  });

  it('lets traffic move the close on: it comes T after the last packet', () => {
    const { clock, start, firewall, closes, open, at } = closingProxy();
    const id = open('a');
    at(5_000, () => expect(firewall.pass(id, clock.now())).toBe(true));
    at(11_000, () => expect(firewall.pass(id, clock.now())).toBe(true));
    clock.advanceTo(start + 60_000);
    expect(closes).toEqual([{ flow: 'a', at: 11_000 + T }]);
  });

  it('tells nothing about a flow an endpoint closed first', () => {
    const { clock, start, firewall, closes, open, at } = closingProxy();
    const id = open('a');
    at(3_000, () => firewall.close(id));
    clock.advanceTo(start + 60_000);
    expect(closes).toEqual([]);
  });

  it('closes at once a flow it flushes, and at the new deadline when it gets stricter', () => {
    const { clock, start, firewall, closes, open, at } = closingProxy();
    const a = open('a');
    open('b');
    at(2_000, () => firewall.kill(a, clock.now()));
    at(3_000, () => firewall.setIdleTimeout(4_000, clock.now()));
    clock.advanceTo(start + 60_000);
    expect(closes).toEqual([
      { flow: 'a', at: 2_000 },
      { flow: 'b', at: 4_000 },
    ]);
  });

  it('closes a flow at its lifetime cap, however busy', () => {
    const { clock, start, firewall, closes, open } = closingProxy({ lifetimeCapMs: 20_000 });
    const id = open('a');
    for (let t = 1_000; t < 30_000; t += 1_000) {
      clock.advanceTo(start + t);
      firewall.pass(id, clock.now());
    }
    expect(closes).toEqual([{ flow: 'a', at: 20_000 }]);
  });

  it('stays silent in the other modes, and refuses to close without a clock', () => {
    const clock = new ManualClock();
    const closed: number[] = [];
    for (const onExpiry of ['silent', 'rst'] as const) {
      const firewall = new Firewall({ idleTimeoutMs: T, onExpiry, clock });
      firewall.open(clock.now(), () => closed.push(clock.now()));
    }
    clock.advance(10 * T);
    expect(closed).toEqual([]);
    expect(() => new Firewall({ idleTimeoutMs: T, onExpiry: 'close' })).toThrow(/clock/);
  });
});
