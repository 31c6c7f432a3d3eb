/**
 * Test harness: a fresh in-process cloud for every test of a file, with one gateway gw1 and an
 * in-memory store, and the raw ways in that the push tests use — an API call with the API
 * token, a WebSocket to /push with gw1's token.
 */
import { afterEach, beforeEach } from 'vitest';
import WebSocket from 'ws';
import type { CloudServer } from '../../src/cloud/cloud-server.ts';
import { API_TOKEN, GATEWAY_TOKEN, startTestCloud } from './test-cloud.ts';

/** The headers of a push line of gw1. */
export const GW1_AUTH = { authorization: `Bearer ${GATEWAY_TOKEN}`, 'x-mfp-gateway': 'gw1' };

export interface CloudPerTestOptions {
  /** More settings of gw1 (cpuThreshold, lineThreshold, …). */
  gw1?: Record<string, unknown>;
  /** More top-level config (push timeouts, …). */
  config?: Record<string, unknown>;
}

export interface CloudPerTest {
  /** The cloud of the running test. */
  readonly cloud: CloudServer;
  /** GET (or init's method) on the cloud's API with the API token; the body parsed as JSON. */
  api<T>(path: string, init?: RequestInit): Promise<{ status: number; body: T }>;
  /** A WebSocket to /push with these headers (gw1's by default), once open; closed after the test. */
  openPush(headers?: Record<string, string>): Promise<WebSocket>;
}

/** Starts a cloud before each test of the calling file and stops it (and its test's sockets) after. */
export function cloudPerTest(options: CloudPerTestOptions = {}): CloudPerTest {
  let current: CloudServer | undefined;
  const sockets: WebSocket[] = [];
  beforeEach(async () => {
    current = await startTestCloud({
      gateways: [{ id: 'gw1', token: GATEWAY_TOKEN, ...options.gw1 }],
      ...options.config,
    });
  });
  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate();
    await current?.stop();
    current = undefined;
  });
  const cloud = (): CloudServer => {
    if (!current) throw new Error('cloudPerTest: no cloud outside a test');
    return current;
  };
  return {
    get cloud() {
      return cloud();
    },
    async api<T>(path: string, init: RequestInit = {}) {
      const res = await fetch(`http://127.0.0.1:${cloud().port}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${API_TOKEN}`, ...(init.headers as Record<string, string>) },
      });
      const text = await res.text();
      const type = res.headers.get('content-type') ?? '';
      return { status: res.status, body: (type.includes('json') ? JSON.parse(text) : text) as T };
    },
    async openPush(headers: Record<string, string> = GW1_AUTH) {
      const ws = new WebSocket(`ws://127.0.0.1:${cloud().port}/push`, { headers });
      sockets.push(ws);
      ws.on('error', () => {});
      await new Promise((r) => ws.once('open', r));
      return ws;
    },
  };
}
