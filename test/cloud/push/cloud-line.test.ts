import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { CloudLine } from '../../../src/cloud/push/cloud-line.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import type { Hello } from '../../../src/protocol/messages.ts';
import { rawHello } from '../../support/raw-gateway.ts';

/** A socket that delivers what the test emits and takes every send at once. */
function fakeSocket(): WebSocket & { sent: string[] } {
  const ws = new EventEmitter() as unknown as WebSocket & { sent: string[] };
  Object.assign(ws, {
    sent: [] as string[],
    readyState: 1,
    OPEN: 1,
    send(data: unknown, a?: unknown, b?: unknown) {
      ws.sent.push(String(data));
      const cb = typeof a === 'function' ? a : b;
      if (typeof cb === 'function') cb();
    },
    close() {},
    terminate() {},
  });
  return ws;
}

function line(lagNowMs = () => 0) {
  const clock = new ManualClock();
  const ws = fakeSocket();
  const seen: number[] = [];
  const l = new CloudLine({
    ws,
    hello: rawHello as Hello,
    egressAddress: '127.0.0.1',
    clock,
    logger: silentLogger(),
    lagNowMs,
    events: { onMessage: (_l, _m, idleBeforeMs) => seen.push(idleBeforeMs), onClose: () => {} },
  });
  l.attach();
  const keepalive = () =>
    ws.emit(
      'message',
      Buffer.from(
        JSON.stringify({
          type: 'keepalive',
          seq: 1,
          powerMode: 'normal',
          keepaliveMs: 25_000,
          policyLimited: false,
        }),
      ),
      false,
    );
  return { clock, ws, line: l, seen, keepalive };
}

describe('CloudLine idle accounting (issue 15 item 10, issue 14)', () => {
  it('credits a keep-alive with the longest gap since the gateway was last heard, not since the cloud’s own send', () => {
    const { clock, line: l, seen, keepalive } = line();
    clock.advance(20_000);
    l.send({ type: 'restore', connectionIds: ['line-1'], reason: 'test' });
    clock.advance(5_000);
    keepalive();
    // The line sat 20 s before the cloud's send reset the middlebox's timer: that gap is what it survived.
    expect(seen).toEqual([20_000]);
  });

  it('keeps a line silent (not fresh) for the push dispatcher while only the cloud sends on it', () => {
    const { clock, line: l } = line();
    clock.advance(10_000);
    l.send({ type: 'restore', connectionIds: ['line-1'], reason: 'test' });
    clock.advance(1_000);
    expect(l.idleMs()).toBe(1_000);
    expect(l.silenceMs()).toBe(11_000);
    expect(l.unprovenIdleMs()).toBe(10_000);
  });

  it('measures a push’s idle gap from the last proof of life, across the cloud’s own sends', async () => {
    const { clock, line: l, ws } = line();
    clock.advance(15_000);
    l.send({ type: 'restore', connectionIds: ['line-1'], reason: 'test' });
    clock.advance(2_000);
    const outcome = l.exchange('push:p1', { type: 'push', pushId: 'p1', dataType: 'x', payload: {} }, 5_000);
    ws.emit('message', Buffer.from(JSON.stringify({ type: 'push-ack', pushId: 'p1' })), false);
    expect(await outcome).toMatchObject({ ok: true, idleBeforeMs: 15_000 });
  });

  it('stamps a message at its arrival: the event loop’s lag is not idle time the line survived', () => {
    let lag = 0;
    const { clock, seen, keepalive } = line(() => lag);
    clock.advance(20_000);
    lag = 3_000; // the loop read the socket 3 s after the bytes came
    keepalive();
    expect(seen).toEqual([17_000]);
  });
});
