import type { Clock } from '../../clock/clock.ts';
import { sourceKey } from '../../runtime/ip-address.ts';

export interface LoginThrottleOptions {
  clock: Clock;
  /** Wrong passwords a client may try before it has to wait. */
  freeAttempts: number;
  /** The first wait; each further failure doubles it. */
  baseDelayMs: number;
  /** The longest wait (a lockout that ends by itself). */
  maxDelayMs: number;
}

/** Clients remembered at once. Only those not waiting are forgotten to make room. */
export const MAX_CLIENTS = 1024;
/**
 * Wrong passwords from all clients together before every client waits as one would: rotating
 * source addresses (free with IPv6 privacy addresses, cheap on a LAN) buys no more guesses.
 */
export const GLOBAL_FREE_ATTEMPTS = 30;
/** Password checks running at once, whoever asks (each scrypt check takes 16 MiB and a core for a while). */
export const MAX_CHECKS_IN_FLIGHT = 2;

interface Failures {
  count: number;
  blockedUntil: number;
  lastAt: number;
}

/** An attempt the throttle let through: say how it went. */
export interface LoginAttempt {
  /** The password was right: the client is forgotten. */
  succeeded(): void;
  /** The password was wrong: how long the client must now wait (0: not yet). */
  failed(): number;
}

/** Whether a client may try a password now. */
export type ThrottleVerdict =
  | { allowed: true; attempt: LoginAttempt }
  | { allowed: false; retryAfterMs: number; why: 'waiting' | 'busy' };

/**
 * Slows password guessing: after `freeAttempts` wrong passwords each further one makes the
 * client wait twice as long as the last (up to `maxDelayMs`); while it waits, even the right
 * password is refused. An attempt is counted when it starts, before the password is checked,
 * and a client has one check in flight at a time, so parallel guesses gain nothing. IPv6
 * clients count by /64 (one host picks freely among its addresses there), and all wrong
 * passwords together have a budget of their own. A success forgets the client.
 */
export class LoginThrottle {
  private readonly options: LoginThrottleOptions;
  private readonly clients = new Map<string, Failures>();
  private readonly global: Failures = { count: 0, blockedUntil: 0, lastAt: 0 };
  private readonly checking = new Set<string>();

  constructor(options: LoginThrottleOptions) {
    this.options = options;
  }

  /** Starts an attempt from a client address, or says how long it must wait first. */
  begin(address: string): ThrottleVerdict {
    const now = this.options.clock.now();
    const key = clientKey(address);
    if (this.checking.has(key) || this.checking.size >= MAX_CHECKS_IN_FLIGHT) {
      return { allowed: false, retryAfterMs: 1000, why: 'busy' };
    }
    const own = this.clients.get(key);
    const blockedUntil = Math.max(own?.blockedUntil ?? 0, this.global.blockedUntil);
    if (blockedUntil > now) return { allowed: false, retryAfterMs: blockedUntil - now, why: 'waiting' };
    const f = own ?? this.remember(now);
    if (!f) {
      // Every remembered client is waiting: a newcomer waits as long as the first of them.
      const first = Math.min(...[...this.clients.values()].map((c) => c.blockedUntil));
      return { allowed: false, retryAfterMs: Math.max(1000, first - now), why: 'waiting' };
    }
    this.count(f, this.options.freeAttempts, now);
    this.count(this.global, GLOBAL_FREE_ATTEMPTS, now);
    this.clients.delete(key);
    this.clients.set(key, f);
    this.checking.add(key);
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      this.checking.delete(key);
      return true;
    };
    return {
      allowed: true,
      attempt: {
        succeeded: () => {
          if (!settle()) return;
          this.clients.delete(key);
          this.global.count = Math.max(0, this.global.count - 1);
        },
        failed: () => {
          settle();
          return Math.max(0, Math.max(f.blockedUntil, this.global.blockedUntil) - this.options.clock.now());
        },
      },
    };
  }

  /** Clients remembered now. */
  get size(): number {
    return this.clients.size;
  }

  /** A new client's record, making room by forgetting one that does not wait; undefined when all do. */
  private remember(now: number): Failures | undefined {
    if (this.clients.size >= MAX_CLIENTS) {
      let spare: string | undefined;
      for (const [k, c] of this.clients) {
        if (c.blockedUntil <= now) {
          spare = k;
          break;
        }
      }
      if (spare === undefined) return undefined;
      this.clients.delete(spare);
    }
    return { count: 0, blockedUntil: 0, lastAt: now };
  }

  /** Counts an attempt as failed until it is known to have succeeded, and sets the wait it earns. */
  private count(f: Failures, free: number, now: number): void {
    const { baseDelayMs, maxDelayMs } = this.options;
    // Quiet for longer than the longest lockout: start over.
    if (now - f.lastAt > 2 * maxDelayMs) f.count = 0;
    f.count++;
    f.lastAt = now;
    const over = f.count - free;
    f.blockedUntil = over > 0 ? now + Math.min(baseDelayMs * 2 ** (over - 1), maxDelayMs) : 0;
  }
}

/** The key a client counts under: its IPv4 address, or the /64 of its IPv6 address. */
export const clientKey = sourceKey;
