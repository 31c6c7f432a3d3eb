import { z } from 'zod';
import { parseDuration } from '../calendar/duration.ts';
import { ByteRateError, parseByteRate } from './byte-rate.ts';

/**
 * The longest duration any setting takes unless it says otherwise: a year. Waits longer than
 * Node's timers hold (24.8 days) are armed in steps by the clock; the cap keeps typos such
 * as "3000d" from becoming never.
 */
export const MAX_CONFIG_DURATION = '365d';

/** The definitions of `duration()` schemas; `.describe()` and the like clone a schema but keep its definition. */
const durationDefs = new WeakSet<object>();

/** Whether a schema is a `duration()` (or a clone of one): its value is milliseconds. */
export function isDurationSchema(schema: z.core.$ZodType): boolean {
  return durationDefs.has(schema._zod.def);
}

/** A duration written with a unit ("45s", "2h"), parsed to milliseconds, at most `max`. */
export function duration(defaultValue: string, max: string = MAX_CONFIG_DURATION) {
  const maxMs = parseDuration(max);
  const schema = z
    .string({ error: 'a duration with a unit, e.g. "45s", "2h" or "1h30m"' })
    .default(defaultValue)
    .transform((text, ctx) => {
      let value: number;
      try {
        value = parseDuration(text);
      } catch {
        ctx.addIssue({
          code: 'custom',
          message: 'a duration with a unit, e.g. "45s", "2h" or "1h30m"',
          input: text,
        });
        return z.NEVER;
      }
      if (value > maxMs) {
        ctx.addIssue({ code: 'custom', message: `a duration of at most ${max}`, input: text });
        return z.NEVER;
      }
      return value;
    });
  durationDefs.add(schema._zod.def);
  return schema;
}

const fractionInput = (max: number) =>
  z.union([z.number(), z.string()], { error: `a fraction such as "5%" or 0.05 (at most ${max})` });

function toFraction(max: number) {
  return (raw: number | string, ctx: z.RefinementCtx): number => {
    const value =
      typeof raw === 'number'
        ? raw
        : raw.trim().endsWith('%')
          ? Number(raw.trim().slice(0, -1)) / 100
          : Number(raw);
    if (!Number.isFinite(value) || value < 0 || value > max) {
      ctx.addIssue({
        code: 'custom',
        message: `a fraction such as "5%" or 0.05 (between 0 and ${max})`,
        input: raw,
      });
      return z.NEVER;
    }
    return value;
  };
}

/** A fraction written as a percentage ("5%") or a number between 0 and 1. */
export function fraction(defaultValue: string, max = 1) {
  return fractionInput(max).default(defaultValue).transform(toFraction(max));
}

/** A fraction as above with no default: absent stays absent. */
export function optionalFraction(max = 1) {
  return fractionInput(max).transform(toFraction(max)).optional();
}

/** An identifier safe in URLs, topics and file names. */
export const slug = z
  .string({ error: 'an identifier of letters, digits, "-", "_" or "."' })
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'an identifier of letters, digits, "-", "_" or "." (1–64 chars)',
  );

/** A secret: at least 16 characters so a default like "changeme" cannot slip through. */
export const secret = z
  .string({ error: 'a secret string of at least 16 characters (or ${env:NAME})' })
  .min(16, 'a secret of at least 16 characters');

/** TCP port. */
export const port = z.number({ error: 'a TCP port number' }).int().min(0).max(65535);

/** A rate in bytes per second: a number, or a string such as "500k" or "2m". */
export function byteRate() {
  return z
    .union([z.number().int().positive(), z.string()], { error: 'bytes per second, e.g. 500k, 2m or 65536' })
    .transform((raw, ctx) => {
      if (typeof raw === 'number') return raw;
      try {
        return parseByteRate(raw);
      } catch (err) {
        if (!(err instanceof ByteRateError)) throw err;
        ctx.addIssue({ code: 'custom', message: err.message, input: raw });
        return z.NEVER;
      }
    });
}
