import { InvalidArgumentError, Option } from 'commander';
import { DurationError, formatDuration, parseDuration } from '../calendar/duration.ts';
import { ByteRateError, parseByteRate } from '../config/byte-rate.ts';
import { AddressError, type HostPort, parseHostPort } from '../sim/firewall/address.ts';

/** The gateway config the unit runs with, and so the one `doctor` and `status` read by default. */
export const DEFAULT_CONFIG = '/etc/mfp-gateway/gateway.yaml';

/** Commander parser for a HOST:PORT option: a bad value is a usage error that says what to write. */
export function hostPortArg(text: string): HostPort {
  try {
    return parseHostPort(text);
  } catch (err) {
    if (err instanceof AddressError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

/** Commander parser for a rate in bytes per second ("500k", "2m"): a clear usage error otherwise. */
export function byteRateArg(text: string): number {
  try {
    return parseByteRate(text);
  } catch (err) {
    if (err instanceof ByteRateError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

/** Commander parser for a duration option ("45s", "2h", "1h30m"): a bad value is a usage error. */
export function durationArg(text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    if (err instanceof DurationError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

/** Like durationArg, and zero is refused too. */
export function positiveDurationArg(text: string): number {
  const ms = durationArg(text);
  if (ms <= 0)
    throw new InvalidArgumentError(`"${text}" is no time at all; give a duration above zero, e.g. "30s"`);
  return ms;
}

/** A duration option whose default `--help` shows as people write it ("20s", not 20000). */
export function durationOption(flags: string, description: string, defaultMs: number): Option {
  return new Option(flags, description).argParser(durationArg).default(defaultMs, formatDuration(defaultMs));
}
