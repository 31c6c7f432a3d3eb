import type { EventEmitter } from 'node:events';
import {
  type AddressInfo,
  connect,
  createServer,
  Socket as NetSocket,
  type Server,
  type Socket,
} from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/clock/manual-clock.ts';
import type { HostPort } from '../../src/sim/firewall/address.ts';
import {
  IdleFirewall,
  type IdleFirewallEvents,
  type IdleFirewallOptions,
  nextExpiry,
} from '../../src/sim/firewall/idle-firewall.ts';
import { freePort } from '../support/free-port.ts';

const IDLE_MS = 10_000;
/** Real-time safety net so a broken relay fails with a message instead of hanging; never a pass condition. */
const GUARD_MS = 5_000;
const LOOPBACK = '127.0.0.1';

// Everything observable (peer bytes, closes, firewall events) calls changed(); tests
// wait for a condition to become true instead of sleeping.
const waiters = new Set<() => void>();
function changed(): void {
  for (const check of [...waiters]) check();
}
function until(condition: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`gave up waiting for ${what}`));
    }, GUARD_MS);
    function check(): void {
      if (!condition()) return;
      clearTimeout(guard);
      waiters.delete(check);
      resolve();
    }
    waiters.add(check);
    check();
  });
}

/** One end of a TCP connection as the test sees it: bytes received and how it ended. */
class Peer {
  readonly socket: Socket;
  ended = false;
  closed = false;
  error: NodeJS.ErrnoException | undefined;
  private readonly chunks: Buffer[] = [];
  private length = 0;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.length += chunk.length;
      changed();
    });
    socket.on('end', () => {
      this.ended = true;
      changed();
    });
    socket.on('error', (err) => {
      this.error = err;
    });
    socket.on('close', () => {
      this.closed = true;
      changed();
    });
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  get receivedBytes(): number {
    return this.length;
  }

  /** Untouched: nothing received, no FIN, no RST, still open. */
  get untold(): boolean {
    return !this.ended && !this.closed && this.error === undefined;
  }

  waitForBytes(n: number): Promise<void> {
    return until(() => this.length >= n, `${n} bytes`);
  }

  waitForReset(): Promise<void> {
    return until(() => this.closed, 'the socket to close').then(() => {
      expect(this.error?.code).toBe('ECONNRESET');
    });
  }
}

type Recorded = {
  [K in keyof IdleFirewallEvents]: { type: K; event: IdleFirewallEvents[K][0] };
}[keyof IdleFirewallEvents];

interface Line {
  id: number;
  client: Peer;
  /** The target's side of the relayed connection. */
  server: Peer;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A target that records every connection the firewall makes to it. */
async function startTarget(): Promise<{ address: HostPort; peers: Peer[] }> {
  const peers: Peer[] = [];
  const server: Server = createServer((socket) => {
    peers.push(new Peer(socket));
    changed();
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  cleanups.push(async () => {
    for (const peer of peers) peer.socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { address: { host: LOOPBACK, port: (server.address() as AddressInfo).port }, peers };
}

async function setup(options: Partial<IdleFirewallOptions> = {}) {
  const clock = new ManualClock();
  const target = await startTarget();
  const firewall = new IdleFirewall({
    listen: { host: LOOPBACK, port: 0 },
    target: target.address,
    idleTimeoutMs: IDLE_MS,
    onExpiry: 'silent',
    clock,
    ...options,
  });
  const recorded: Recorded[] = [];
  const emitter: EventEmitter = firewall;
  for (const type of ['connection', 'expired', 'swallowed', 'reset', 'closed'] as const) {
    emitter.on(type, (event: unknown) => {
      recorded.push({ type, event } as Recorded);
      changed();
    });
  }
  const address = await firewall.start();
  cleanups.push(() => firewall.stop());

  function events<K extends keyof IdleFirewallEvents>(type: K): Array<IdleFirewallEvents[K][0]> {
    return recorded.filter((r) => r.type === type).map((r) => r.event as IdleFirewallEvents[K][0]);
  }

  function dial(): Peer {
    const peer = new Peer(connect(address.port, address.host));
    cleanups.push(() => void peer.socket.destroy());
    return peer;
  }

  /** Connects a client and waits until the firewall has dialled the target for it. */
  async function openLine(): Promise<Line> {
    const dialled = target.peers.length;
    const client = dial();
    await until(() => target.peers.length > dialled, 'the firewall to dial the target');
    const id = events('connection').at(-1)?.id;
    const server = target.peers[dialled];
    if (id === undefined || !server) throw new Error('the firewall dialled without announcing a connection');
    return { id, client, server };
  }

  /** Waits until `count` swallowed events have come from `from` on line `id`. */
  function swallowed(id: number, from: 'client' | 'target', count = 1): Promise<void> {
    return until(
      () => events('swallowed').filter((e) => e.id === id && e.from === from).length >= count,
      `bytes from the ${from} of line ${id} to be swallowed`,
    );
  }

  return { clock, target, firewall, address, events, dial, openLine, swallowed };
}

describe('IdleFirewall', () => {
  it('forwards small writes at once on both legs (TCP_NODELAY), as a middlebox does', async () => {
    // Nagle's algorithm in the relay would hold a write behind the peer's delayed ACK, ~40 ms
    // that no real firewall adds (it made two of three pushes in push-proxy.test.ts slower).
    const noDelay = vi.spyOn(NetSocket.prototype, 'setNoDelay');
    cleanups.push(() => noDelay.mockRestore());
    const { openLine } = await setup();
    const line = await openLine();
    const nodelay = noDelay.mock.contexts.filter(
      (_, i) => noDelay.mock.calls[i]?.[0] === true,
    ) as NetSocket[];
    // The leg the client dialled, and the leg the firewall dialled to the target.
    expect(nodelay.some((socket) => socket.remotePort === line.client.socket.localPort)).toBe(true);
    expect(nodelay.some((socket) => socket.localPort === line.server.socket.remotePort)).toBe(true);
    line.client.socket.write('ping');
    await line.server.waitForBytes(4);
  });

  it('carries at most rateBytesPerSec each way, shared by its connections (a slow line)', async () => {
    const rate = 100_000;
    const { clock, openLine } = await setup({ rateBytesPerSec: rate, idleTimeoutMs: 3_600_000 });
    const a = await openLine();
    const b = await openLine();
    const each = 300_000;
    const start = clock.now();
    const idleAt = start + 3_600_000;
    a.server.socket.write(Buffer.alloc(each, 'a'));
    b.server.socket.write(Buffer.alloc(each, 'b'));
    const received = () => a.client.receivedBytes + b.client.receivedBytes;
    // Nothing but the line's own timers moves the clock: each pause lasts until the line is free again.
    while (received() < 2 * each) {
      await until(
        () => received() === 2 * each || (clock.nextDue() ?? idleAt) < idleAt,
        'the line to be held',
      );
      if (received() < 2 * each) clock.advanceTo(clock.nextDue() as number);
    }
    expect(a.client.received.equals(Buffer.alloc(each, 'a'))).toBe(true);
    expect(b.client.received.equals(Buffer.alloc(each, 'b'))).toBe(true);
    // 600 kB at 100 kB/s: 6 s of line time, less at most one burst (a socket read) per connection.
    const elapsed = clock.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual(((2 * each - 2 * 65_536) / rate) * 1000);
    expect(Math.round(elapsed)).toBeLessThanOrEqual(((2 * each) / rate) * 1000);
  });

  it('relays bytes both ways and relays a half-close', async () => {
    const { firewall, openLine, events } = await setup();
    const line = await openLine();
    const up = Buffer.alloc(1 << 20, 'u');
    const down = Buffer.alloc(1 << 20, 'd');

    line.client.socket.write(up);
    await line.server.waitForBytes(up.length);
    line.server.socket.write(down);
    await line.client.waitForBytes(down.length);

    expect(line.server.received.equals(up)).toBe(true);
    expect(line.client.received.equals(down)).toBe(true);
    expect(firewall.stats()).toMatchObject({
      accepted: 1,
      active: 1,
      bytesForwarded: 2 << 20,
      bytesSwallowed: 0,
    });

    line.client.socket.end();
    await until(() => line.server.ended, 'the client FIN to reach the target');
    await until(() => events('closed').length === 1, 'the connection to close');
    expect(firewall.stats().active).toBe(0);
  });

  it('keeps a connection alive across many idle periods while bytes flow in either direction', async () => {
    const { clock, firewall, openLine, events } = await setup();
    const line = await openLine();
    for (let round = 1; round <= 20; round++) {
      clock.advance(IDLE_MS - 1000);
      expect(firewall.stats().expired).toBe(0);
      const [from, to] = round % 2 ? [line.client, line.server] : [line.server, line.client];
      from.socket.write('k');
      await to.waitForBytes(Math.ceil(round / 2));
    }
    clock.advance(IDLE_MS);
    expect(events('expired')).toEqual([
      { id: line.id, reason: 'idle', idleMs: IDLE_MS, ageMs: 20 * (IDLE_MS - 1000) + IDLE_MS },
    ]);
  });

  it('in silent mode forgets an idle connection: bytes both ways are swallowed and nobody is told', async () => {
    const { clock, firewall, openLine, swallowed, events } = await setup({ onExpiry: 'silent' });
    const line = await openLine();
    line.client.socket.write('hi');
    await line.server.waitForBytes(2);

    clock.advance(IDLE_MS - 1);
    expect(firewall.stats().expired).toBe(0);
    clock.advance(1);
    expect(events('expired')).toEqual([{ id: line.id, reason: 'idle', idleMs: IDLE_MS, ageMs: IDLE_MS }]);

    line.client.socket.write('lost up');
    await swallowed(line.id, 'client');
    line.server.socket.write('lost down');
    await swallowed(line.id, 'target');

    expect(line.server.received.toString()).toBe('hi');
    expect(line.client.receivedBytes).toBe(0);
    expect(line.client.untold).toBe(true);
    expect(line.server.untold).toBe(true);
    expect(firewall.stats()).toMatchObject({
      active: 1,
      expired: 1,
      bytesForwarded: 2,
      bytesSwallowed: 16,
      resets: 0,
    });

    // The client's close completes on its own side only; the target still hears nothing.
    line.client.socket.end();
    await until(() => line.client.closed, 'the client to finish closing');
    line.server.socket.write('?');
    await swallowed(line.id, 'target', 2);
    expect(line.server.untold).toBe(true);
    expect(firewall.stats().active).toBe(1);
  });

  it('in rst mode resets each side of a forgotten connection when that side sends', async () => {
    const { clock, firewall, openLine, events } = await setup({ onExpiry: 'rst' });
    const line = await openLine();
    clock.advance(IDLE_MS);
    expect(firewall.stats().expired).toBe(1);

    line.client.socket.write('late');
    await line.client.waitForReset();
    expect(events('reset')).toEqual([{ id: line.id, side: 'client', cause: 'expired' }]);
    expect(line.server.untold).toBe(true);

    line.server.socket.write('late too');
    await line.server.waitForReset();
    expect(events('reset')).toEqual([
      { id: line.id, side: 'client', cause: 'expired' },
      { id: line.id, side: 'target', cause: 'expired' },
    ]);
    expect(line.server.receivedBytes).toBe(0);
    await until(() => events('closed').length === 1, 'the connection to close');
    expect(firewall.stats()).toMatchObject({ active: 0, resets: 2, bytesForwarded: 0, bytesSwallowed: 12 });
  });

  it('kills a busy connection once it reaches its lifetime', async () => {
    const lifetimeMs = 6 * IDLE_MS;
    const { clock, firewall, openLine, events } = await setup({ onExpiry: 'rst', lifetimeMs });
    const line = await openLine();
    for (let age = IDLE_MS / 2; age < lifetimeMs; age += IDLE_MS / 2) {
      clock.advance(IDLE_MS / 2);
      line.client.socket.write('x');
      await line.server.waitForBytes((2 * age) / IDLE_MS);
    }
    expect(firewall.stats().expired).toBe(0);

    clock.advance(IDLE_MS / 2);
    expect(events('expired')).toEqual([
      { id: line.id, reason: 'lifetime', idleMs: IDLE_MS / 2, ageMs: lifetimeMs },
    ]);
    line.client.socket.write('x');
    await line.client.waitForReset();
    expect(line.server.receivedBytes).toBe(11);
  });

  it('while blocked forgets every line silently and black-holes new ones; unblocking lets new lines through', async () => {
    const { firewall, target, openLine, dial, swallowed, events } = await setup({ onExpiry: 'rst' });
    const old = await openLine();

    firewall.setBlocked(true);
    expect(events('expired')).toEqual([{ id: old.id, reason: 'blocked', idleMs: 0, ageMs: 0 }]);
    old.client.socket.write('into the void');
    await swallowed(old.id, 'client');

    const holed = dial();
    await until(() => events('connection').length === 2, 'the black-holed connection to be accepted');
    const holedId = events('connection')[1]?.id ?? -1;
    expect(events('expired')[1]).toEqual({ id: holedId, reason: 'blocked', idleMs: 0, ageMs: 0 });
    holed.socket.write('anyone?');
    await swallowed(holedId, 'client');
    expect(target.peers).toHaveLength(1);
    expect(old.client.untold).toBe(true);
    expect(holed.untold).toBe(true);
    expect(firewall.stats().resets).toBe(0);

    firewall.setBlocked(false);
    const fresh = await openLine();
    fresh.client.socket.write('through');
    await fresh.server.waitForBytes(7);
    old.client.socket.write('still dead');
    await swallowed(old.id, 'client', 2);
    expect(old.server.receivedBytes).toBe(0);
  });

  it('cutAll resets both sides of every connection, forgotten or not', async () => {
    const { clock, firewall, openLine, events } = await setup();
    const forgotten = await openLine();
    clock.advance(IDLE_MS);
    const live = await openLine();

    firewall.cutAll();
    await Promise.all(
      [forgotten, live].flatMap((line) => [line.client.waitForReset(), line.server.waitForReset()]),
    );
    expect(events('reset').map((e) => e.cause)).toEqual(['cut', 'cut', 'cut', 'cut']);
    await until(() => firewall.stats().active === 0, 'every connection to close');
    expect(firewall.stats().resets).toBe(4);
  });

  it("relays a peer's reset as a reset of the other side", async () => {
    const { firewall, openLine } = await setup();
    const line = await openLine();
    line.client.socket.resetAndDestroy();
    await line.server.waitForReset();
    await until(() => firewall.stats().active === 0, 'the connection to close');
    expect(firewall.stats().resets).toBe(0);
  });

  it('survives a target that refuses: the client is reset and the firewall keeps accepting', async () => {
    const { firewall, dial, events } = await setup({ target: { host: LOOPBACK, port: await freePort() } });
    for (let attempt = 1; attempt <= 2; attempt++) {
      const client = dial();
      await client.waitForReset();
      await until(() => events('closed').length === attempt, 'the refused connection to close');
    }
    expect(firewall.stats()).toMatchObject({ accepted: 2, active: 0, bytesForwarded: 0 });
  });

  it('stop() closes the listener and every connection, and can be called twice', async () => {
    const { clock, firewall, openLine, dial } = await setup();
    const forgotten = await openLine();
    clock.advance(IDLE_MS);
    const live = await openLine();

    let stopped = false;
    void firewall.stop().then(() => {
      stopped = true;
      changed();
    });
    await until(() => stopped, 'stop() to resolve');
    expect(firewall.stats().active).toBe(0);
    const peers = [forgotten, live].flatMap((line) => [line.client, line.server]);
    await until(() => peers.every((peer) => peer.closed), 'every peer to see its connection closed');
    await firewall.stop();

    const late = dial();
    await until(() => late.closed, 'the late connection attempt to fail');
    expect(late.error?.code).toBe('ECONNREFUSED');
    expect(clock.pendingCount()).toBe(0);
  });
});

describe('nextExpiry', () => {
  it('is the idle deadline when no lifetime is set', () => {
    expect(nextExpiry({ openedAt: 0, lastActivity: 500 }, { idleTimeoutMs: 1000 })).toEqual({
      at: 1500,
      reason: 'idle',
    });
  });

  it('is whichever of idle and lifetime deadlines comes first', () => {
    const limits = { idleTimeoutMs: 1000, lifetimeMs: 5000 };
    expect(nextExpiry({ openedAt: 0, lastActivity: 4500 }, limits)).toEqual({ at: 5000, reason: 'lifetime' });
    expect(nextExpiry({ openedAt: 0, lastActivity: 3000 }, limits)).toEqual({ at: 4000, reason: 'idle' });
  });
});
