import { InvalidArgumentError } from 'commander';
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
