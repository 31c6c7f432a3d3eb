import type { Clock } from '../../clock/clock.ts';

/** A push the gateway keeps for a device until the device takes it or it expires. */
export interface HeldPush {
  pushId: string;
  deviceId: string;
  dataType: string;
  payload: unknown;
  /** When the gateway took the push in (ms since the epoch). */
  heldAt: number;
  expiresAt: number;
  /** Size counted against the byte bound: the payload's JSON. */
  bytes: number;
  /** Arrival order across restarts: pushes go to the device in this order. */
  seq: number;
}

/** Where held pushes survive a restart (SQLite on the box, an array in tests). */
export interface HoldStore {
  load(): HeldPush[];
  insert(push: HeldPush): void;
  delete(pushIds: readonly string[]): void;
}

export interface HoldLimits {
  /** Most pushes held per device. */
  maxPerDevice: number;
  /** Most payload bytes held for all devices together (a 512 MB box keeps them in memory). */
  maxBytes: number;
  /** A push not taken by its device within this long expires. */
  ttlMs: number;
}

/** Whether a push was taken in: a refusal says why, for the cloud and the log. */
export type Admission =
  | { held: true; push: HeldPush; count: number; duplicate: boolean }
  | { held: false; reason: string };

/**
 * The pushes held for sleeping devices: per device in arrival order, bounded in count and
 * bytes, expiring after a time to live. A full queue refuses the newcomer (the cloud hears
 * so at once) rather than dropping an older push nobody would hear about. Every change
 * goes to the store before it counts, so a restart loses nothing acknowledged as held.
 */
export class HoldQueue {
  private readonly byDevice = new Map<string, HeldPush[]>();
  private readonly byId = new Map<string, HeldPush>();
  private readonly clock: Clock;
  private readonly store: HoldStore;
  private readonly limits: HoldLimits;
  private bytes = 0;
  private nextSeq = 1;

  constructor(options: { clock: Clock; store: HoldStore; limits: HoldLimits }) {
    this.clock = options.clock;
    this.store = options.store;
    this.limits = options.limits;
    for (const push of [...options.store.load()].sort((a, b) => a.seq - b.seq)) this.index(push);
  }

  /** Takes a push in for a device, or says why not; a push already held is held once. */
  admit(deviceId: string, push: { pushId: string; dataType: string; payload: unknown }): Admission {
    const known = this.byId.get(push.pushId);
    if (known) {
      if (known.deviceId !== deviceId)
        return { held: false, reason: 'push id already held for another device' };
      return { held: true, push: known, count: this.count(deviceId), duplicate: true };
    }
    const count = this.count(deviceId);
    if (count >= this.limits.maxPerDevice) {
      return {
        held: false,
        reason: `the gateway already holds ${count} pushes for device ${deviceId} (hold.max)`,
      };
    }
    const bytes = Buffer.byteLength(JSON.stringify(push.payload ?? null));
    if (this.bytes + bytes > this.limits.maxBytes) {
      return {
        held: false,
        reason: `holding ${bytes} more bytes would pass the gateway's hold.maxBytes of ${this.limits.maxBytes}`,
      };
    }
    const now = this.clock.now();
    const held: HeldPush = {
      pushId: push.pushId,
      deviceId,
      dataType: push.dataType,
      payload: push.payload,
      heldAt: now,
      expiresAt: now + this.limits.ttlMs,
      bytes,
      seq: this.nextSeq,
    };
    this.store.insert(held);
    this.index(held);
    return { held: true, push: held, count: count + 1, duplicate: false };
  }

  /** The device's unexpired pushes, oldest first. */
  pending(deviceId: string): HeldPush[] {
    const now = this.clock.now();
    return (this.byDevice.get(deviceId) ?? []).filter((p) => p.expiresAt > now);
  }

  /** Whether the push is held (not yet taken, not expired and removed). */
  get(pushId: string): HeldPush | undefined {
    return this.byId.get(pushId);
  }

  /** Forgets a push the device took; false when it was not held. */
  remove(pushId: string): boolean {
    const push = this.byId.get(pushId);
    if (!push) return false;
    this.store.delete([pushId]);
    this.unindex(push);
    return true;
  }

  /** Removes and returns every push whose time is up, oldest first. */
  expire(): HeldPush[] {
    const now = this.clock.now();
    const expired = [...this.byId.values()].filter((p) => p.expiresAt <= now).sort((a, b) => a.seq - b.seq);
    if (expired.length === 0) return [];
    this.store.delete(expired.map((p) => p.pushId));
    for (const p of expired) this.unindex(p);
    return expired;
  }

  /** When the next push expires, or undefined when none is held. */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const p of this.byId.values()) if (next === undefined || p.expiresAt < next) next = p.expiresAt;
    return next;
  }

  /** Pushes held for a device (expired ones until expire() runs included). */
  count(deviceId: string): number {
    return this.byDevice.get(deviceId)?.length ?? 0;
  }

  /** Pushes and payload bytes held for all devices. */
  totals(): { pushes: number; bytes: number } {
    return { pushes: this.byId.size, bytes: this.bytes };
  }

  private index(push: HeldPush): void {
    const list = this.byDevice.get(push.deviceId) ?? [];
    list.push(push);
    this.byDevice.set(push.deviceId, list);
    this.byId.set(push.pushId, push);
    this.bytes += push.bytes;
    this.nextSeq = Math.max(this.nextSeq, push.seq + 1);
  }

  private unindex(push: HeldPush): void {
    const list = this.byDevice.get(push.deviceId) ?? [];
    const i = list.indexOf(push);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byDevice.delete(push.deviceId);
    this.byId.delete(push.pushId);
    this.bytes -= push.bytes;
  }
}
