import type { Logger } from '../log/logger.ts';

/** A listener for one event; it may return a promise, whose rejection is logged like a throw. */
export type Listener<T> = (payload: T) => unknown;

/** The arguments of `emit` for an event: none when it carries nothing (`undefined`), else its payload. */
export type EventArgs<T> = [T] extends [undefined] ? [] : [payload: T];

/** The listening side of a bus, narrowed to the events a part hears. */
export interface EventSource<Events> {
  on<K extends keyof Events>(owner: string, event: K, listener: Listener<Events[K]>): void;
  /** Removes every listener `owner` registered. */
  removeOwner(owner: string): void;
}

interface Registration {
  owner: string;
  listener: Listener<never>;
}

/**
 * A typed event bus between the parts of a daemon (zigbee2mqtt's eventBus): `Events` maps each
 * event name to its payload. Listeners are registered under an owner (a feature's name), so
 * one call removes all of a feature's listeners; they run synchronously in registration
 * order, each guarded, so one that throws or rejects is logged and the others still run.
 * Written here rather than using node:events as is: an EventEmitter has no owners and stops
 * at the first listener that throws.
 */
export class EventBus<Events extends object> implements EventSource<Events> {
  private readonly listeners = new Map<keyof Events, Registration[]>();
  private readonly log: Logger;

  constructor(logger: Logger) {
    this.log = logger;
  }

  /** Calls `listener` with every `event` emitted from now on, until its owner's listeners are removed. */
  on<K extends keyof Events>(owner: string, event: K, listener: Listener<Events[K]>): void {
    const registered = this.listeners.get(event) ?? [];
    registered.push({ owner, listener: listener as Listener<never> });
    this.listeners.set(event, registered);
  }

  /** Hands the payload to every listener of `event`, in registration order. */
  emit<K extends keyof Events>(event: K, ...args: EventArgs<Events[K]>): void {
    // A copy: a listener may add or remove listeners of the same event while it runs.
    for (const { owner, listener } of [...(this.listeners.get(event) ?? [])]) {
      try {
        const result = (listener as Listener<unknown>)(args[0]);
        if (result instanceof Promise) result.catch((err: unknown) => this.failed(event, owner, err));
      } catch (err) {
        this.failed(event, owner, err);
      }
    }
  }

  /** Removes every listener `owner` registered. */
  removeOwner(owner: string): void {
    for (const [event, registered] of this.listeners) {
      const kept = registered.filter((r) => r.owner !== owner);
      if (kept.length > 0) this.listeners.set(event, kept);
      else this.listeners.delete(event);
    }
  }

  /** Listeners registered now for `event` (status and tests). */
  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  private failed(event: keyof Events, owner: string, err: unknown): void {
    this.log.error(
      { event: String(event), owner, err: err instanceof Error ? err.message : String(err) },
      'an event listener failed; the others ran on',
    );
  }
}
