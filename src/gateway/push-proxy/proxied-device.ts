import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import {
  type DeviceState,
  type GatewayToStream,
  type ProxiedPush,
  PUSH_PROXY_VERSION,
  type PushStatus,
} from '../../protocol/push-proxy/messages.ts';
import { RecentIds } from '../push/recent-ids.ts';
import type { DeviceHello } from './device-endpoint.ts';
import type { DeviceSession, SessionEnd } from './device-session.ts';
import type { DeviceStateStore, RecordedDeviceState } from './device-state-store.ts';
import { DeviceUpstream, type StreamOpener, type UpstreamStatus } from './device-upstream.ts';
import type { HeldPush, HoldQueue } from './hold-queue.ts';

/** One proxied device as the status page shows it. */
export interface ProxiedDeviceStatus {
  id: string;
  state: DeviceState;
  /** Since when the device is in `state`. */
  since: number;
  remoteAddress: string | null;
  service: string | null;
  software: string | null;
  /** The LAN keep-alive interval the gateway gives it. */
  keepaliveMs: number;
  /** Keep-alives it sent (answered here, never forwarded), and the shortest gap between two. */
  keepalives: { count: number; shortestGapMs: number | null; lastAt: number | null };
  /** Pushes held for it now. */
  held: number;
  /** Pushes since start: delivered, answered "held", expired unread, refused (hold queue full). */
  pushes: { delivered: number; held: number; expired: number; refused: number };
  /** LAN bytes both ways, and bytes of its stream to the cloud. */
  bytes: { fromDevice: number; toDevice: number; upstreamIn: number; upstreamOut: number };
  upstream: UpstreamStatus;
}

export interface ProxiedDeviceOptions {
  deviceId: string;
  queue: HoldQueue;
  open: StreamOpener;
  clock: Clock;
  logger: Logger;
  keepaliveMs: number;
  /** An awake device that does not acknowledge a push this long is dropped; the push stays held. */
  ackTimeoutMs: number;
  backoff: { initialMs: number; maxMs: number };
  /** The hold queue changed (its next expiry may have moved). */
  onHeldChange: () => void;
  /** Records every change of state, so a restart still knows the device is asleep. */
  states?: DeviceStateStore;
  /** The state recorded before the gateway (re)started. */
  recorded?: RecordedDeviceState;
}

interface Inflight {
  session: DeviceSession;
  timer: TimerHandle;
  waiters: ((delivered: boolean) => void)[];
}

/**
 * A LAN device whose push connection the gateway proxies: its state (awake, sleeping,
 * gone), its virtual connection to the cloud, and its pushes — handed to it while it is
 * connected, held (durably, in order) while it is not, and handed over when it comes back.
 * Only this device's authenticated session ever receives its pushes.
 */
export class ProxiedDevice {
  readonly id: string;
  private readonly options: ProxiedDeviceOptions;
  private readonly log: Logger;
  private readonly upstream: DeviceUpstream;
  private readonly inflight = new Map<string, Inflight>();
  private readonly delivered = new RecentIds(1024);
  private readonly counts = { delivered: 0, held: 0, expired: 0, refused: 0 };
  private readonly ended = {
    fromDevice: 0,
    toDevice: 0,
    keepalives: 0,
    shortestGapMs: null as number | null,
  };
  private session: DeviceSession | undefined;
  private hello: { service: string | null; software: string | null } = { service: null, software: null };
  private state: DeviceState = 'gone';
  private since: number;

  constructor(options: ProxiedDeviceOptions) {
    this.options = options;
    this.id = options.deviceId;
    this.log = options.logger.child({ device: options.deviceId });
    this.since = options.clock.now();
    // Asleep before the restart is asleep still; a device that was connected reconnects, "gone" till then.
    if (options.recorded?.state === 'sleeping') {
      this.state = 'sleeping';
      this.since = options.recorded.since;
    }
    this.upstream = new DeviceUpstream({
      deviceId: options.deviceId,
      open: options.open,
      clock: options.clock,
      logger: this.log,
      backoff: options.backoff,
      attach: () => ({
        type: 'attach',
        v: PUSH_PROXY_VERSION,
        deviceId: this.id,
        state: this.state,
        since: this.since,
        keepaliveMs: options.keepaliveMs,
        held: this.options.queue.pending(this.id).length,
        ...this.helloFields(),
      }),
    });
    this.upstream.onPush = (push, reply) => {
      void this.offer(push, reply);
    };
  }

  /** Opens the virtual connection to the cloud as soon as a push line is up (call again when one comes up). */
  connectUpstream(): void {
    this.upstream.ensure();
  }

  /** Takes over the device's new LAN connection (an older one is closed) and hands it its held pushes. */
  attachSession(session: DeviceSession, hello: DeviceHello): void {
    const previous = this.session;
    this.session = session;
    previous?.close(4000, 'replaced by a newer connection of this device', {
      state: 'gone',
      reason: 'replaced',
    });
    this.hello = { service: hello.service ?? null, software: hello.software ?? null };
    session.onPushAck = (pushId) => this.acked(session, pushId);
    session.onEnd = (end) => this.sessionEnded(session, end);
    const held = this.options.queue.pending(this.id);
    session.start(held.length);
    this.setState('awake', `connected from ${session.remoteAddress ?? 'unknown address'}`);
    for (const push of held) {
      void this.deliver(session, push, true).then((ok) => {
        if (ok) this.late(push.pushId, 'delivered', `held ${this.options.clock.now() - push.heldAt} ms`);
      });
    }
  }

  /** Held pushes whose time ran out: the cloud hears they expired. */
  expired(pushes: readonly HeldPush[]): void {
    for (const push of pushes) {
      this.counts.expired++;
      this.log.info({ pushId: push.pushId, heldMs: push.expiresAt - push.heldAt }, 'held push expired');
      this.late(
        push.pushId,
        'expired',
        'the device did not come back before the hold time (hold.ttl) ran out',
      );
    }
  }

  status(): ProxiedDeviceStatus {
    const session = this.session;
    const live = session?.keepalives;
    const gaps = [this.ended.shortestGapMs, live?.shortestGapMs ?? null].filter(
      (g): g is number => g !== null,
    );
    const upstream = this.upstream.status();
    return {
      id: this.id,
      state: this.state,
      since: this.since,
      remoteAddress: session?.remoteAddress ?? null,
      ...this.hello,
      keepaliveMs: this.options.keepaliveMs,
      keepalives: {
        count: this.ended.keepalives + (live?.count ?? 0),
        shortestGapMs: gaps.length ? Math.min(...gaps) : null,
        lastAt: live?.lastAt ?? null,
      },
      held: this.options.queue.count(this.id),
      pushes: { ...this.counts },
      bytes: {
        fromDevice: this.ended.fromDevice + (session?.bytes.in ?? 0),
        toDevice: this.ended.toDevice + (session?.bytes.out ?? 0),
        upstreamIn: upstream.bytesIn,
        upstreamOut: upstream.bytesOut,
      },
      upstream,
    };
  }

  /** Closes the device's stream and LAN connection (the gateway stops; held pushes stay on disk). */
  stop(): void {
    this.upstream.stop();
    for (const entry of this.inflight.values()) this.options.clock.clearTimeout(entry.timer);
    this.session?.close(1001, 'gateway stopping', { state: 'gone', reason: 'gateway stopping' });
  }

  /** A push from the cloud: received at once, then delivered, held or refused. */
  private async offer(push: ProxiedPush, reply: (status: GatewayToStream) => boolean): Promise<void> {
    const { clock, queue } = this.options;
    const status = (s: PushStatus['status'], extra: Partial<PushStatus> = {}) =>
      reply({ type: 'push-status', pushId: push.pushId, status: s, at: clock.now(), ...extra });
    status('received');
    if (this.delivered.has(push.pushId)) {
      status('delivered');
      return;
    }
    const admission = queue.admit(this.id, push);
    if (!admission.held) {
      this.counts.refused++;
      this.log.warn({ pushId: push.pushId }, `push refused: ${admission.reason}`);
      status('refused', { reason: admission.reason, held: queue.count(this.id) });
      return;
    }
    this.options.onHeldChange();
    const session = this.session;
    if (session?.isOpen && (await this.deliver(session, admission.push, false))) {
      status('delivered');
      return;
    }
    if (!admission.duplicate) this.counts.held++;
    this.log.info({ pushId: push.pushId, state: this.state }, 'push held for device');
    status('held', { held: queue.count(this.id), expiresAt: admission.push.expiresAt });
  }

  /** Hands a push to the session; resolves true once the device acknowledged it. */
  private deliver(session: DeviceSession, push: HeldPush, wasHeld: boolean): Promise<boolean> {
    const existing = this.inflight.get(push.pushId);
    if (existing && existing.session === session) {
      return new Promise((resolve) => existing.waiters.push(resolve));
    }
    const { clock, ackTimeoutMs } = this.options;
    return new Promise((resolve) => {
      const sent = session.send({
        type: 'push',
        pushId: push.pushId,
        dataType: push.dataType,
        payload: push.payload,
        ...(wasHeld ? { heldSince: push.heldAt } : {}),
      });
      if (!sent) {
        resolve(false);
        return;
      }
      const timer = clock.setTimeout(
        () => session.terminate(`no acknowledgement of push ${push.pushId} within ${ackTimeoutMs} ms`),
        ackTimeoutMs,
      );
      this.inflight.set(push.pushId, { session, timer, waiters: [resolve] });
    });
  }

  private acked(session: DeviceSession, pushId: string): void {
    const entry = this.inflight.get(pushId);
    if (entry?.session === session) {
      this.options.clock.clearTimeout(entry.timer);
      this.inflight.delete(pushId);
    }
    const wasHeld = this.options.queue.remove(pushId);
    if ((entry || wasHeld) && this.delivered.add(pushId)) {
      this.counts.delivered++;
      this.log.info({ pushId }, 'push delivered to device');
    }
    if (wasHeld) this.options.onHeldChange();
    if (entry?.session === session) for (const w of entry.waiters) w(true);
  }

  private sessionEnded(session: DeviceSession, end: SessionEnd): void {
    this.ended.fromDevice += session.bytes.in;
    this.ended.toDevice += session.bytes.out;
    const k = session.keepalives;
    this.ended.keepalives += k.count;
    if (k.shortestGapMs !== null) {
      this.ended.shortestGapMs = Math.min(this.ended.shortestGapMs ?? k.shortestGapMs, k.shortestGapMs);
    }
    for (const [pushId, entry] of [...this.inflight]) {
      if (entry.session !== session) continue;
      this.options.clock.clearTimeout(entry.timer);
      this.inflight.delete(pushId);
      for (const w of entry.waiters) w(false);
    }
    if (this.session !== session) return;
    this.session = undefined;
    this.setState(end.state, end.reason);
  }

  private setState(state: DeviceState, reason: string): void {
    if (state === this.state && state !== 'awake') return;
    this.state = state;
    this.since = this.options.clock.now();
    this.options.states?.save(this.id, { state, since: this.since });
    this.log.info({ state, reason }, `proxied device is ${state}`);
    this.upstream.send({
      type: 'state',
      state,
      since: this.since,
      held: this.options.queue.pending(this.id).length,
      ...this.helloFields(),
    });
  }

  /** A push's later fate, which nobody waits for: sent when the stream is up. */
  private late(pushId: string, status: 'delivered' | 'expired', reason: string): void {
    this.upstream.sendOrQueue({
      type: 'push-status',
      pushId,
      status,
      at: this.options.clock.now(),
      held: this.options.queue.count(this.id),
      reason,
    });
  }

  private helloFields(): { service?: string; software?: string } {
    return {
      ...(this.hello.service ? { service: this.hello.service } : {}),
      ...(this.hello.software ? { software: this.hello.software } : {}),
    };
  }
}
