import { randomBytes } from 'node:crypto';
import type { Clock } from '../../clock/clock.ts';

/** A logged-in browser. */
export interface Session {
  readonly id: string;
  /** The token every state-changing request of this session must carry (CSRF). */
  readonly csrfToken: string;
  readonly expiresAt: number;
}

/** Most sessions kept at once; the oldest is dropped beyond (one admin, a few browsers). */
export const MAX_SESSIONS = 32;

/** A random, URL-safe token (256 bits). */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Sessions of the status page, in memory (a restart logs everyone out, which is fine for
 * an appliance page). Each expires a fixed time after login, on the injected clock.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly endListeners: Array<(id: string) => void> = [];

  constructor(clock: Clock, ttlMs: number) {
    this.clock = clock;
    this.ttlMs = ttlMs;
  }

  /** Calls `listener` with the id of every session that ends: logout, expiry, or dropped for a newer one. */
  onEnd(listener: (id: string) => void): void {
    this.endListeners.push(listener);
  }

  /** Starts a session. */
  create(): Session {
    this.sweep();
    while (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.delete(oldest);
    }
    const session = { id: randomToken(), csrfToken: randomToken(), expiresAt: this.clock.now() + this.ttlMs };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id, or null when unknown or expired. */
  get(id: string | undefined): Session | null {
    if (!id) return null;
    const session = this.sessions.get(id);
    if (!session) return null;
    if (session.expiresAt <= this.clock.now()) {
      this.delete(id);
      return null;
    }
    return session;
  }

  /** Ends a session (logout). */
  delete(id: string): void {
    if (!this.sessions.delete(id)) return;
    for (const listener of this.endListeners) listener(id);
  }

  get ttl(): number {
    return this.ttlMs;
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.delete(id);
  }
}
