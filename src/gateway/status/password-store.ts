import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword, isPasswordHash } from '../../secrets/password-hash.ts';
import { writeFileAtomic } from '../../storage/atomic-file.ts';

/** Shortest password the onboarding form accepts. */
export const MIN_PASSWORD_LENGTH = 8;

/**
 * Where the page's password hash lives: `status.passwordHash` in the config when set (a
 * fleet provisions it), else a hash set on first boot through the page, kept in the state
 * directory (written atomically, readable by the service only).
 */
export class PasswordStore {
  private readonly configured: string | undefined;
  private readonly file: string;
  private stored: string | null;

  constructor(options: { configuredHash?: string | undefined; stateDir: string }) {
    this.configured = options.configuredHash;
    this.file = join(options.stateDir, 'status-password');
    this.stored = this.configured ? null : readHash(this.file);
  }

  /** The hash to check logins against; null until a password is set. */
  hash(): string | null {
    return this.configured ?? this.stored;
  }

  /** Whether the first visitor may set the password (none configured or stored yet). */
  needsPassword(): boolean {
    return this.hash() === null;
  }

  /** Sets the first password; refuses once one exists (changing it needs the old one, later). */
  async setFirst(password: string): Promise<{ ok: true } | { ok: false; reason: string }> {
    if (!this.needsPassword()) return { ok: false, reason: 'a password is already set' };
    if (password.length < MIN_PASSWORD_LENGTH) {
      return { ok: false, reason: `the password needs at least ${MIN_PASSWORD_LENGTH} characters` };
    }
    const hash = await hashPassword(password);
    // Two first visitors at once: the one whose hash finished first wins.
    if (!this.needsPassword()) return { ok: false, reason: 'a password is already set' };
    writeFileAtomic(this.file, `${hash}\n`, 0o600);
    this.stored = hash;
    return { ok: true };
  }
}

function readHash(file: string): string | null {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return isPasswordHash(text) ? text : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
