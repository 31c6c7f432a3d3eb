import type { Server } from 'node:http';

/** "http://HOST:PORT/" for a listening server, with IPv6 in brackets and 0.0.0.0 shown as is. */
export function serverUrl(server: Server): string {
  const address = server.address();
  if (!address || typeof address === 'string') return String(address);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}/`;
}
