import { describe, expect, it } from 'vitest';
import { FrameBatch } from '../../src/protocol/tunnel/frame-encoder.ts';
import type { TunnelFrame } from '../../src/protocol/tunnel/frame-types.ts';
import { ReceiveWindow, SendCredit } from '../../src/tunnel/credit-window.ts';
import { type OutboundStream, Outbox } from '../../src/tunnel/outbox.ts';

function stream(id: number, pending?: Buffer, credit = 1 << 20): OutboundStream & { done: number } {
  const s = {
    id,
    send: new SendCredit(credit),
    recv: new ReceiveWindow(),
    pending,
    pendingAt: 0,
    pendingDone: () => {
      s.done += 1;
    },
    done: 0,
  };
  return s;
}

/** Frames of one batch: a spy batch that records what the outbox adds. */
function fillOnce(outbox: Outbox, maxBytes = 1 << 20): { frames: TunnelFrame[]; sent: (() => void)[] } {
  const batch = new FrameBatch(maxBytes);
  const frames: TunnelFrame[] = [];
  const add = batch.add.bind(batch);
  batch.add = (frame) => {
    const ok = add(frame);
    if (ok) frames.push(frame);
    return ok;
  };
  const sent = outbox.fill(batch);
  return { frames, sent };
}

describe('Outbox', () => {
  it('serves streams with data round-robin, one frame each per turn', () => {
    const outbox = new Outbox({ maxDataFrame: 100, maxQueuedControl: 10 });
    const a = stream(2, Buffer.alloc(300));
    const b = stream(4, Buffer.alloc(300));
    const c = stream(6, Buffer.alloc(100));
    for (const s of [a, b, c]) outbox.offerData(s);
    const { frames, sent } = fillOnce(outbox);
    expect(frames.map((f) => (f as { streamId: number }).streamId)).toEqual([2, 4, 6, 2, 4, 2, 4]);
    expect(frames.every((f) => f.type === 'data' && f.payload.length === 100)).toBe(true);
    for (const cb of sent) cb();
    expect([a.done, b.done, c.done]).toEqual([1, 1, 1]);
  });

  it('sends no more DATA than the credit and leaves the rest pending', () => {
    const outbox = new Outbox({ maxDataFrame: 100, maxQueuedControl: 10 });
    const a = stream(2, Buffer.alloc(300), 150);
    outbox.offerData(a);
    const { frames, sent } = fillOnce(outbox);
    expect(frames.map((f) => (f as { payload: Buffer }).payload.length)).toEqual([100, 50]);
    expect(sent).toHaveLength(0);
    expect(a.pendingAt).toBe(150);
    expect(a.send.available).toBe(0);
    expect(fillOnce(outbox).frames).toHaveLength(0);
  });

  it('puts the PING answer, control frames and window updates before DATA', () => {
    const outbox = new Outbox({ maxDataFrame: 100, maxQueuedControl: 10 });
    const a = stream(2, Buffer.alloc(50));
    outbox.offerData(a);
    a.recv.receive(10);
    outbox.updateWindow(a);
    outbox.queueControl({ type: 'open-ok', streamId: 2 });
    outbox.answerPing(Buffer.alloc(8, 1));
    outbox.answerPing(Buffer.alloc(8, 2));
    const types = fillOnce(outbox).frames.map((f) => f.type);
    expect(types).toEqual(['ping', 'open-ok', 'window-update', 'data']);
  });

  it('fills a batch up to its byte budget and carries on in the next', () => {
    const outbox = new Outbox({ maxDataFrame: 1000, maxQueuedControl: 10 });
    const a = stream(2, Buffer.alloc(1000));
    outbox.offerData(a);
    const first = fillOnce(outbox, 512);
    expect(first.frames).toHaveLength(1);
    expect((first.frames[0] as { payload: Buffer }).payload.length).toBe(500);
    const second = fillOnce(outbox, 512);
    expect((second.frames[0] as { payload: Buffer }).payload.length).toBe(500);
    expect(second.sent).toHaveLength(1);
  });

  it('refuses control frames beyond its limit', () => {
    const outbox = new Outbox({ maxDataFrame: 100, maxQueuedControl: 2 });
    expect(outbox.queueControl({ type: 'fin', streamId: 2 })).toBe(true);
    expect(outbox.queueControl({ type: 'fin', streamId: 4 })).toBe(true);
    expect(outbox.queueControl({ type: 'fin', streamId: 6 })).toBe(false);
  });

  it('forgets a stream and withdraws an update', () => {
    const outbox = new Outbox({ maxDataFrame: 100, maxQueuedControl: 2 });
    const a = stream(2, Buffer.alloc(50));
    const b = stream(4);
    outbox.offerData(a);
    outbox.updateWindow(b);
    outbox.forget(a);
    outbox.cancelUpdate(b);
    expect(fillOnce(outbox).frames).toHaveLength(0);
  });
});
