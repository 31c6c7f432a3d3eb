import { randomInt } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import { sameSecret } from '../../protocol/same-secret.ts';
import { writeFileAtomic } from '../../storage/atomic-file.ts';

/** The code's file in the state directory (mode 0600: root and the service only). */
export const SETUP_CODE_FILE = 'setup-code';
/** The form field (and `x-setup-code` header) the code is submitted in. */
export const SETUP_CODE_FIELD = 'setupCode';
export const SETUP_CODE_HEADER = 'x-setup-code';

/** Crockford's base-32 digits: no I, L, O, U, so a code read off a console is typed right. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** 12 digits, 60 bits: guessing it online within a setup window is out of reach. */
const DIGITS = 12;
const CODE = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;

/** Why a submitted code was not accepted, or ok. */
export type SetupCodeVerdict = { ok: true } | { ok: false; status: 403; reason: string };

/**
 * The one-time code that proves a first-boot visitor has the box (docs/security.md): made at
 * the first start without a password, printed to the console/journal and kept in
 * `<stateDir>/setup-code` (0600), asked for by the first-password and onboarding forms, and
 * deleted once a password is set. The forms close `windowMs` after the process started
 * (0: never); a restart (power cycle) opens them again with the same code.
 */
export class SetupCode {
  readonly file: string;
  private readonly code: string;
  private readonly clock: Clock;
  private readonly closesAt: number;
  private readonly windowMs: number;

  constructor(options: { stateDir: string; clock: Clock; windowMs: number; logger: Logger; url?: string }) {
    this.file = join(options.stateDir, SETUP_CODE_FILE);
    this.clock = options.clock;
    this.windowMs = options.windowMs;
    this.closesAt = options.windowMs > 0 ? options.clock.now() + options.windowMs : Number.POSITIVE_INFINITY;
    this.code = readCode(this.file) ?? newCode(this.file);
    // Printed on purpose, unlike any other secret: the journal (or the console) is where
    // someone who has the box reads it, and it is worthless once a password is set.
    options.logger.warn(
      { setupCode: this.code, file: this.file, windowMs: options.windowMs || null },
      `first boot: the setup code is ${this.code}; it is asked for when setting the first password`,
    );
  }

  /** Whether the first-boot forms still take a code (the setup window has not passed). */
  get open(): boolean {
    return this.clock.now() < this.closesAt;
  }

  /** Checks a code a visitor typed (case, spaces and dashes do not matter). */
  check(given: string | undefined): SetupCodeVerdict {
    if (!this.open) {
      return {
        ok: false,
        status: 403,
        reason: `first-boot setup closed ${Math.round(this.windowMs / 60_000)} min after the gateway started; restart the gateway to open it again`,
      };
    }
    if (given === undefined || !sameSecret(normalise(given), normalise(this.code))) {
      return {
        ok: false,
        status: 403,
        reason: `wrong setup code: it is in the gateway's log at start ("first boot: the setup code is …") and in ${this.file}`,
      };
    }
    return { ok: true };
  }

  /** The password is set: the code is spent. */
  spend(): void {
    rmSync(this.file, { force: true });
  }
}

function normalise(text: string): string {
  return text.toUpperCase().replace(/[\s-]/g, '');
}

function readCode(file: string): string | null {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return CODE.test(text) ? text : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function newCode(file: string): string {
  let digits = '';
  for (let i = 0; i < DIGITS; i++) digits += ALPHABET[randomInt(ALPHABET.length)];
  const code = `${digits.slice(0, 4)}-${digits.slice(4, 8)}-${digits.slice(8)}`;
  writeFileAtomic(file, `${code}\n`, 0o600);
  return code;
}
