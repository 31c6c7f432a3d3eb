import { isIPv6 } from 'node:net';

/** A TCP endpoint: host name or IP literal (IPv6 without brackets) and port. */
export interface HostPort {
  host: string;
  port: number;
}

/** Why a "HOST:PORT" string was refused. */
export class AddressError extends Error {
  readonly code = 'MFP_ERR_ADDRESS';
}

const EXAMPLES = 'e.g. "127.0.0.1:8443", "localhost:0" or "[::1]:8443"';

/**
 * Parses "HOST:PORT" ("127.0.0.1:80", "gw.example.com:443", "[::1]:80"); port 0 means
 * "any free port" when listening.
 */
export function parseHostPort(text: string): HostPort {
  const input = text.trim();
  let host: string;
  let portText: string;
  if (input.startsWith('[')) {
    const close = input.indexOf(']');
    if (close < 0 || input[close + 1] !== ':') {
      throw new AddressError(
        `"${text}" is not HOST:PORT; an IPv6 address is written [ADDRESS]:PORT, ${EXAMPLES}`,
      );
    }
    host = input.slice(1, close);
    portText = input.slice(close + 2);
    if (!isIPv6(host)) throw new AddressError(`"${host}" in "${text}" is not an IPv6 address`);
  } else {
    const colon = input.lastIndexOf(':');
    if (colon < 0) throw new AddressError(`"${text}" has no port; expected HOST:PORT, ${EXAMPLES}`);
    host = input.slice(0, colon);
    portText = input.slice(colon + 1);
    if (host.includes(':')) {
      throw new AddressError(
        `"${text}" looks like a bare IPv6 address; put it in brackets: "[${host}]:${portText}"`,
      );
    }
  }
  if (host === '') throw new AddressError(`"${text}" has no host; expected HOST:PORT, ${EXAMPLES}`);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65_535) {
    throw new AddressError(
      `"${portText}" in "${text}" is not a port; expected a whole number from 0 to 65535`,
    );
  }
  return { host, port: Number(portText) };
}

/** Formats an endpoint back to "HOST:PORT", bracketing IPv6 literals. */
export function formatHostPort(address: HostPort): string {
  return isIPv6(address.host) ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
