import type WebSocket from 'ws';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.ts';

/** A gateway's hello as a raw peer sends it: gw1's first push line. */
export const rawHello = {
  type: 'hello',
  v: PROTOCOL_VERSION,
  gatewayId: 'gw1',
  clientId: '3b241101-e2bb-4255-8caf-4136c566a962',
  connectionId: 'line-0',
  role: 'push',
  domain: 'example.com',
  uptimeMs: 1,
  cpuLoad: 0,
  powerMode: 'normal',
  keepaliveMs: 1000,
  policyLimited: false,
  software: 'test',
  lost: [],
};

/** The next control message the cloud sends on a raw line, parsed. */
export function nextMessage(ws: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))));
}
