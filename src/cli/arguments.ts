import { InvalidArgumentError } from 'commander';
import { ByteRateError, parseByteRate } from '../config/byte-rate.ts';
import { AddressError, type HostPort, parseHostPort } from '../sim/firewall/address.ts';

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
