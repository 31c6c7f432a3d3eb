import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import {
  clientKey,
  GLOBAL_FREE_ATTEMPTS,
  LoginThrottle,
  MAX_CLIENTS,
} from '../../../src/gateway/status/login-throttle.ts';

/** Issue 13, finding 8: the throttle cannot be raced, rotated around or flushed. */
function throttle(clock = new ManualClock()) {
  return new LoginThrottle({ clock, freeAttempts: 3, baseDelayMs: 2000, maxDelayMs: 15 * 60_000 });
}

/** One wrong password from `address`; the wait it earned, or null when refused before checking. */
function wrong(t: LoginThrottle, address: string): number | null {
  const verdict = t.begin(address);
  return verdict.allowed ? verdict.attempt.failed() : null;
}

describe('LoginThrottle', () => {
  it('counts an attempt before the password is checked: one check in flight per client', () => {
    const t = throttle();
    const first = t.begin('192.168.1.9');
    expect(first.allowed).toBe(true);
    // 39 more while the first is being verified: none of them is checked at all.
    for (let i = 0; i < 39; i++) {
      expect(t.begin('192.168.1.9')).toMatchObject({ allowed: false, why: 'busy' });
    }
    if (first.allowed) first.attempt.failed();
    expect(t.begin('192.168.1.9').allowed).toBe(true);
  });

  it('keys IPv6 clients by /64 and IPv4-mapped ones as IPv4', () => {
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe(clientKey('2001:db8:1:2:ffff:1:2:3'));
    expect(clientKey('2001:db8:1:2::1')).not.toBe(clientKey('2001:db8:1:3::1'));
    expect(clientKey('2001:0db8:0001:0002::9%eth0')).toBe('2001:db8:1:2::/64');
    expect(clientKey('::ffff:10.0.0.1')).toBe('10.0.0.1');
    const t = throttle();
    for (let i = 1; i <= 3; i++) expect(wrong(t, `2001:db8:1:2::${i}`)).toBe(0);
    // A fourth privacy address of the same host waits like the first three did.
    expect(wrong(t, '2001:db8:1:2::4')).toBe(2000);
    expect(t.begin('2001:db8:1:2::5')).toMatchObject({ allowed: false, why: 'waiting' });
  });

  it('has a budget for all wrong passwords together: rotating addresses buys no more guesses', () => {
    const clock = new ManualClock();
    const t = throttle(clock);
    for (let i = 0; i < GLOBAL_FREE_ATTEMPTS; i++) expect(wrong(t, `10.0.${i >> 8}.${i & 255}`)).toBe(0);
    // The next address has never failed, yet waits.
    expect(wrong(t, '10.1.0.1')).toBe(2000);
    expect(t.begin('10.1.0.2')).toMatchObject({ allowed: false, why: 'waiting' });
    clock.advance(2000);
    expect(wrong(t, '10.1.0.3')).toBe(4000);
  });

  it('cannot be flushed: a waiting client stays remembered whatever addresses come after', () => {
    const clock = new ManualClock();
    const t = new LoginThrottle({ clock, freeAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 15 * 60_000 });
    for (let i = 0; i < 4; i++) wrong(t, '192.168.1.66');
    expect(t.begin('192.168.1.66')).toMatchObject({ allowed: false });
    // More addresses than the table holds, each guessing once: none of them evicts the waiting one.
    for (let i = 0; i < MAX_CLIENTS + 10; i++) wrong(t, `172.16.${i >> 8}.${i & 255}`);
    expect(t.size).toBeLessThanOrEqual(MAX_CLIENTS);
    expect(t.begin('192.168.1.66')).toMatchObject({ allowed: false, why: 'waiting' });
  });
});
