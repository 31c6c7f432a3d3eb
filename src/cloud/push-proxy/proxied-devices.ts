import { EventEmitter } from 'node:events';
import type { Clock } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import type { DeviceState, PushStatus } from '../../protocol/push-proxy/messages.ts';
import { isPushProxyStream } from '../../protocol/push-proxy/proxy-target.ts';
import type { StreamRequest } from '../../tunnel/tunnel-mux.ts';
import type { CloudLine } from '../push/cloud-line.ts';
import type { GatewayDirectory } from '../push/gateway-directory.ts';
import { type AttachMessage, DeviceStream, type StateMessage } from './device-stream.ts';

/** The status log's connection id of a proxied device's virtual connection. */
export function proxyConnectionId(deviceId: string): string {
  return `proxy/${deviceId}`;
}

/** Pushes remembered per device for the API. */
const RECENT_PUSHES = 20;

/** What became of the pushes to one device, since the cloud started. */
export interface DevicePushCounts {
  delivered: number;
  held: number;
  expired: number;
  refused: number;
  failed: number;
}

interface Entry {
  gatewayId: string;
  deviceId: string;
  stream: DeviceStream | undefined;
  attachedSince: number | null;
  detachedSince: number | null;
  state: DeviceState | null;
  stateSince: number | null;
  held: number;
  keepaliveMs: number | null;
  service: string | null;
  software: string | null;
  pushes: DevicePushCounts;
  recent: { pushId: string; status: string; at: number }[];
  /** Messages and bytes from finished streams (the live stream adds its own). */
  messages: number;
  bytes: { fromGateway: number; toGateway: number };
}

/** One proxied device as `GET /api/v1/gateways/{id}` shows it. */
export interface ProxiedDeviceView {
  id: string;
  connection: string;
  attached: boolean;
  line: string | null;
  attachedSince: string | null;
  detachedSince: string | null;
  state: DeviceState | 'unknown';
  stateSince: string | null;
  held: number;
  keepaliveMs: number | null;
  service: string | null;
  software: string | null;
  pushes: DevicePushCounts;
  messagesFromGateway: number;
  bytes: { fromGateway: number; toGateway: number };
  recent: { pushId: string; status: string; at: string }[];
}

interface ProxiedDevicesEvents {
  attached: [gatewayId: string, deviceId: string];
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * The LAN devices gateways proxy, each a virtual connection of its gateway: accepts the
 * streams gateways open for them (nothing else), keeps the newest per device, and
 * remembers their state and what became of their pushes.
 */
export class ProxiedDevices extends EventEmitter<ProxiedDevicesEvents> {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly directory: GatewayDirectory;

  constructor(options: { clock: Clock; logger: Logger; directory: GatewayDirectory }) {
    super();
    // Every device push waiting for its stream listens for 'attached'; the API bounds them.
    this.setMaxListeners(0);
    this.clock = options.clock;
    this.log = options.logger.child({ part: 'push-proxy' });
    this.directory = options.directory;
  }

  /** Decides on a stream a gateway opened on a line: only a push-proxy stream of a device it reported. */
  accept(line: CloudLine, request: StreamRequest): void {
    const { target } = request;
    const deviceId = target.deviceId;
    const reported = deviceId !== undefined && (line.hello.proxiedDevices ?? []).includes(deviceId);
    const pushStream = isPushProxyStream(target);
    if (!pushStream || line.role !== 'push' || !reported) {
      const reason = !pushStream
        ? 'the cloud accepts only push-proxy streams from gateways'
        : `device ${deviceId ?? '(none)'} is not among the proxied devices in this line's hello`;
      this.log.warn(
        { gateway: line.gatewayId, line: line.connectionId, device: deviceId },
        `stream refused: ${reason}`,
      );
      request.refuse('NOT_ALLOWED', reason);
      return;
    }
    const stream = request.accept();
    new DeviceStream({
      stream,
      line,
      deviceId,
      clock: this.clock,
      logger: this.log.child({ gateway: line.gatewayId, device: deviceId, line: line.connectionId }),
      events: {
        attached: (s, attach) => this.attached(s, attach),
        state: (s, state) => this.stateChanged(s, state),
        lateStatus: (s, status) => this.lateStatus(s, status),
        closed: (s, reason) => this.detached(s, reason),
      },
    });
  }

  /** The device's live virtual connection, if it has one. */
  stream(gatewayId: string, deviceId: string): DeviceStream | undefined {
    const stream = this.entries.get(key(gatewayId, deviceId))?.stream;
    return stream?.isOpen ? stream : undefined;
  }

  /** Whether the cloud knows the device: a connected line of its gateway reports it, or it attached before. */
  knows(gatewayId: string, deviceId: string): boolean | 'unsure' {
    if (this.entries.has(key(gatewayId, deviceId))) return true;
    const lines = this.directory.lines(gatewayId, 'push');
    if (lines.length === 0) return 'unsure';
    return lines.some((l) => l.hello.proxiedDevices?.includes(deviceId));
  }

  /** Waits until the device's virtual connection attaches, or the time runs out. */
  waitForAttach(gatewayId: string, deviceId: string, withinMs: number): Promise<boolean> {
    if (withinMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAttached = (g: string, d: string) => {
        if (g !== gatewayId || d !== deviceId) return;
        this.clock.clearTimeout(timer);
        this.off('attached', onAttached);
        resolve(true);
      };
      const timer = this.clock.setTimeout(() => {
        this.off('attached', onAttached);
        resolve(false);
      }, withinMs);
      this.on('attached', onAttached);
    });
  }

  /** Counts a push's outcome as the API answered it, and remembers it. */
  notePush(
    gatewayId: string,
    deviceId: string,
    pushId: string,
    outcome: keyof DevicePushCounts,
    held?: number,
  ) {
    const entry = this.entry(gatewayId, deviceId);
    entry.pushes[outcome]++;
    if (held !== undefined) entry.held = held;
    this.remember(entry, pushId, outcome);
  }

  /** The proxied devices of a gateway: those its lines report, and those that attached before. */
  view(gatewayId: string): ProxiedDeviceView[] {
    const ids = new Set<string>();
    for (const line of this.directory.lines(gatewayId))
      for (const d of line.hello.proxiedDevices ?? []) ids.add(d);
    for (const entry of this.entries.values()) if (entry.gatewayId === gatewayId) ids.add(entry.deviceId);
    return [...ids]
      .sort()
      .map((id) => this.viewOf(this.entries.get(key(gatewayId, id)) ?? blank(gatewayId, id)));
  }

  private viewOf(entry: Entry): ProxiedDeviceView {
    const live = entry.stream?.isOpen ? entry.stream : undefined;
    return {
      id: entry.deviceId,
      connection: proxyConnectionId(entry.deviceId),
      attached: live !== undefined,
      line: live?.line.connectionId ?? null,
      attachedSince: iso(entry.attachedSince),
      detachedSince: iso(entry.detachedSince),
      state: entry.state ?? 'unknown',
      stateSince: iso(entry.stateSince),
      held: entry.held,
      keepaliveMs: entry.keepaliveMs,
      service: entry.service,
      software: entry.software,
      pushes: { ...entry.pushes },
      messagesFromGateway: entry.messages + (entry.stream?.messagesFromGateway ?? 0),
      bytes: {
        fromGateway: entry.bytes.fromGateway + (entry.stream?.bytes.in ?? 0),
        toGateway: entry.bytes.toGateway + (entry.stream?.bytes.out ?? 0),
      },
      recent: entry.recent.map((r) => ({ ...r, at: new Date(r.at).toISOString() })),
    };
  }

  private entry(gatewayId: string, deviceId: string): Entry {
    const k = key(gatewayId, deviceId);
    let entry = this.entries.get(k);
    if (!entry) {
      entry = blank(gatewayId, deviceId);
      this.entries.set(k, entry);
    }
    return entry;
  }

  private attached(stream: DeviceStream, attach: AttachMessage): void {
    const entry = this.entry(stream.gatewayId, stream.deviceId);
    const previous = entry.stream;
    if (previous && previous !== stream) {
      this.retire(entry, previous);
      previous.destroy();
    }
    entry.stream = stream;
    entry.attachedSince = this.clock.now();
    entry.detachedSince = null;
    entry.keepaliveMs = attach.keepaliveMs;
    this.applyState(entry, attach);
    this.log.info(
      {
        gateway: stream.gatewayId,
        device: stream.deviceId,
        line: stream.line.connectionId,
        state: attach.state,
      },
      'proxied device attached',
    );
    this.emit('attached', stream.gatewayId, stream.deviceId);
  }

  private stateChanged(stream: DeviceStream, state: StateMessage): void {
    const entry = this.entry(stream.gatewayId, stream.deviceId);
    if (entry.stream !== stream) return;
    this.applyState(entry, state);
    this.log.info(
      { gateway: stream.gatewayId, device: stream.deviceId, state: state.state },
      'proxied device state',
    );
  }

  private lateStatus(stream: DeviceStream, status: PushStatus): void {
    const entry = this.entry(stream.gatewayId, stream.deviceId);
    if (status.held !== undefined) entry.held = status.held;
    if (status.status === 'delivered') entry.pushes.delivered++;
    if (status.status === 'expired') entry.pushes.expired++;
    this.remember(entry, status.pushId, status.status);
    this.log.info(
      { gateway: stream.gatewayId, device: stream.deviceId, pushId: status.pushId, status: status.status },
      `held push ${status.status}`,
    );
  }

  private detached(stream: DeviceStream, reason: string): void {
    const entry = this.entry(stream.gatewayId, stream.deviceId);
    if (entry.stream !== stream) return;
    this.retire(entry, stream);
    entry.stream = undefined;
    entry.detachedSince = this.clock.now();
    this.log.info({ gateway: stream.gatewayId, device: stream.deviceId, reason }, 'proxied device detached');
  }

  /** Keeps a finished stream's counts. */
  private retire(entry: Entry, stream: DeviceStream): void {
    entry.messages += stream.messagesFromGateway;
    entry.bytes.fromGateway += stream.bytes.in;
    entry.bytes.toGateway += stream.bytes.out;
  }

  private applyState(entry: Entry, state: AttachMessage | StateMessage): void {
    entry.state = state.state;
    entry.stateSince = state.since;
    entry.held = state.held;
    entry.service = state.service ?? entry.service;
    entry.software = state.software ?? entry.software;
  }

  private remember(entry: Entry, pushId: string, status: string): void {
    entry.recent.push({ pushId, status, at: this.clock.now() });
    if (entry.recent.length > RECENT_PUSHES) entry.recent.shift();
  }
}

function key(gatewayId: string, deviceId: string): string {
  return `${gatewayId}\u0000${deviceId}`;
}

function blank(gatewayId: string, deviceId: string): Entry {
  return {
    gatewayId,
    deviceId,
    stream: undefined,
    attachedSince: null,
    detachedSince: null,
    state: null,
    stateSince: null,
    held: 0,
    keepaliveMs: null,
    service: null,
    software: null,
    pushes: { delivered: 0, held: 0, expired: 0, refused: 0, failed: 0 },
    recent: [],
    messages: 0,
    bytes: { fromGateway: 0, toGateway: 0 },
  };
}
