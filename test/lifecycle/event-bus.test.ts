import { describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../src/lifecycle/event-bus.ts';
import { capturedLogs } from '../support/captured-logs.ts';

interface Events {
  ping: number;
  tick: undefined;
}

describe('EventBus', () => {
  it('hands each payload to every listener in registration order', () => {
    const bus = new EventBus<Events>(capturedLogs().logger);
    const heard: string[] = [];
    bus.on('a', 'ping', (n) => heard.push(`a${n}`));
    bus.on('b', 'ping', (n) => heard.push(`b${n}`));
    bus.on('b', 'tick', () => heard.push('tick'));
    bus.emit('ping', 1);
    bus.emit('tick');
    expect(heard).toEqual(['a1', 'b1', 'tick']);
  });

  it('removes all of one owner’s listeners in one call, and only them', () => {
    const bus = new EventBus<Events>(capturedLogs().logger);
    const heard: string[] = [];
    bus.on('a', 'ping', () => heard.push('a'));
    bus.on('b', 'ping', () => heard.push('b'));
    bus.on('b', 'tick', () => heard.push('b-tick'));
    bus.removeOwner('b');
    bus.emit('ping', 1);
    bus.emit('tick');
    expect(heard).toEqual(['a']);
    expect(bus.listenerCount('tick')).toBe(0);
  });

  it('logs a listener that throws or rejects and still calls the others', async () => {
    const { logger, logs } = capturedLogs();
    const bus = new EventBus<Events>(logger);
    const after = vi.fn();
    bus.on('broken', 'ping', () => {
      throw new Error('boom');
    });
    bus.on('async', 'ping', () => Promise.reject(new Error('later')));
    bus.on('fine', 'ping', after);
    bus.emit('ping', 7);
    expect(after).toHaveBeenCalledWith(7);
    await vi.waitFor(() => expect(logs).toHaveLength(2));
    expect(logs).toMatchObject([
      { event: 'ping', owner: 'broken', err: 'boom' },
      { event: 'ping', owner: 'async', err: 'later' },
    ]);
  });

  it('lets a listener remove listeners while the event is delivered', () => {
    const bus = new EventBus<Events>(capturedLogs().logger);
    const heard: string[] = [];
    bus.on('a', 'ping', () => {
      heard.push('a');
      bus.removeOwner('b');
    });
    bus.on('b', 'ping', () => heard.push('b'));
    bus.emit('ping', 1);
    bus.emit('ping', 2);
    expect(heard).toEqual(['a', 'b', 'a']);
  });
});
