import type { Clock } from '../../clock/clock.ts';

export interface LoginThrottleOptions {
  clock: Clock;
  /** Wrong passwords a client may try before it has to wait. */
  freeAttempts: number;
  /** The first wait; each further failure doubles it. */
  baseDelayMs: number;
  /** The longest wait (a lockout that ends by itself). */
  maxDelayMs: number;
}

/** Clients remembered at once; the least recently failed is forgotten beyond. */
const MAX_CLIENTS = 1024;

interface Failures {
  count: number;
  blockedUntil: number;
  lastAt: number;
}

/** Whether a client may try a password now. */
export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * Slows password guessing per client: after `freeAttempts` wrong passwords each further
 * one makes the client wait twice as long as the last (up to `maxDelayMs`); while it
 * waits, even the right password is refused. A success forgets the client.
 */
export class LoginThrottle {
  private readonly options: LoginThrottleOptions;
  private readonly clients = new Map<string, Failures>();

  constructor(options: LoginThrottleOptions) {
    this.options = options;
  }

  check(client: string): ThrottleVerdict {
    const f = this.clients.get(client);
    const now = this.options.clock.now();
    if (!f || f.blockedUntil <= now) return { allowed: true };
    return { allowed: false, retryAfterMs: f.blockedUntil - now };
  }

  /** Records a wrong password; returns how long the client must now wait (0: not yet). */
  failed(client: string): number {
    const now = this.options.clock.now();
    const f = this.clients.get(client) ?? { count: 0, blockedUntil: 0, lastAt: now };
    // A client quiet for longer than the longest lockout starts over.
    if (now - f.lastAt > 2 * this.options.maxDelayMs) f.count = 0;
    f.count++;
    f.lastAt = now;
    const over = f.count - this.options.freeAttempts;
    const delay =
      over > 0 ? Math.min(this.options.baseDelayMs * 2 ** (over - 1), this.options.maxDelayMs) : 0;
    f.blockedUntil = now + delay;
    this.clients.delete(client);
    this.clients.set(client, f);
    if (this.clients.size > MAX_CLIENTS) {
      const oldest = this.clients.keys().next().value;
      if (oldest !== undefined) this.clients.delete(oldest);
    }
    return delay;
  }

  succeeded(client: string): void {
    this.clients.delete(client);
  }
}
