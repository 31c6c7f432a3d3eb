import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { pollBothWays } from '../../../src/devices/serial/poll-both-ways.ts';

/** bindings-cpp's JS Poller in miniature: once() asks the native side to poll, then listens. */
class FakePoller extends EventEmitter {
  readonly polled: number[] = [];
  poll(flag = 0): void {
    this.polled.push(flag);
  }
  override once(event: string, listener: (...args: unknown[]) => void): this {
    this.poll(event === 'readable' ? 1 : event === 'writable' ? 2 : 4);
    return super.once(event, listener);
  }
}

describe('pollBothWays', () => {
  it('asks for every event still waited for, not only the newest', () => {
    const poller = new FakePoller();
    pollBothWays({ port: { poller } });
    poller.once('writable', () => {});
    poller.once('readable', () => {});
    expect(poller.polled).toEqual([0b010, 0b011]);
    poller.emit('writable');
    poller.once('readable', () => {});
    expect(poller.polled.at(-1)).toBe(0b001);
  });

  it('leaves ports without a poller (the mock binding) alone, and patches a poller once', () => {
    expect(() => pollBothWays({})).not.toThrow();
    const poller = new FakePoller();
    pollBothWays({ port: { poller } });
    pollBothWays({ port: { poller } });
    poller.once('readable', () => {});
    poller.once('writable', () => {});
    expect(poller.polled).toEqual([0b001, 0b011]);
  });
});
