import type { Clock, TimerHandle } from '../../clock/clock.ts';
import { systemClock } from '../../clock/system-clock.ts';
import type { Logger } from '../../log/logger.ts';
import type { LinkStatus } from '../link/line-supervisor.ts';
import { type NotifyTransport, systemdNotifyTransport } from './notify-transport.ts';
import { watchdogPingIntervalMs } from './watchdog.ts';

export interface ServiceNotifierOptions {
  transport: NotifyTransport;
  clock: Clock;
  /** From watchdogPingIntervalMs; null when systemd asked for no watchdog. */
  watchdogIntervalMs: number | null;
}

/**
 * Tells systemd what the daemon is doing: ready, still alive (watchdog), a status line,
 * stopping. Messages go out one at a time, in order, so an older STATUS never overtakes a
 * newer one.
 */
export class ServiceNotifier {
  private readonly options: ServiceNotifierOptions;
  private queue: Promise<void> = Promise.resolve();
  private timer: TimerHandle | undefined;
  private lastStatus: string | undefined;
  private pingPending = false;
  private stopped = false;

  constructor(options: ServiceNotifierOptions) {
    this.options = options;
  }

  /** READY=1 with the first status line; starts the watchdog pings. */
  ready(status: string): void {
    this.lastStatus = status;
    this.send(['READY=1', `STATUS=${status}`]);
    this.scheduleWatchdog();
  }

  /** STATUS= when the text changed. */
  status(text: string): void {
    if (this.stopped || text === this.lastStatus) return;
    this.lastStatus = text;
    this.send([`STATUS=${text}`]);
  }

  /** Stops the pings and sends STOPPING=1; resolves once every message was handed over. */
  stopping(): Promise<void> {
    this.stopped = true;
    this.options.clock.clearTimeout(this.timer);
    this.send(['STOPPING=1', 'STATUS=stopping']);
    return this.queue;
  }

  /**
   * The pings ride on the event loop's timers, not a thread: a loop that stalls stops
   * pinging, and systemd restarts the process after WatchdogSec.
   */
  private scheduleWatchdog(): void {
    const every = this.options.watchdogIntervalMs;
    if (every === null || this.stopped) return;
    this.timer = this.options.clock.setTimeout(() => {
      // A ping still waiting behind a slow message would only duplicate it.
      if (!this.pingPending) {
        this.pingPending = true;
        this.send(['WATCHDOG=1'], () => {
          this.pingPending = false;
        });
      }
      this.scheduleWatchdog();
    }, every);
  }

  private send(fields: string[], done?: () => void): void {
    this.queue = this.queue.then(() => this.options.transport.send(fields)).then(done);
  }
}

/** The status line systemd shows in `systemctl status`, e.g. "2/2 push lines up". */
export function linkStatusText(status: LinkStatus): string {
  const push = status.lines.filter((l) => l.role === 'push').length;
  return `${status.linesUp}/${push} push lines up${status.probing ? ', probing' : ''}`;
}

/** What systemd needs of the link: its status and its change events. */
export interface LinkSource {
  status(): LinkStatus;
  on(event: 'change', listener: () => void): unknown;
  off(event: 'change', listener: () => void): unknown;
}

export interface SystemdDeps {
  logger: Logger;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  pid?: number;
  /** Default: systemd-notify to $NOTIFY_SOCKET. */
  transport?: NotifyTransport;
}

/** What the caller of notifySystemd keeps: the means to say the daemon is stopping. */
export interface SystemdHandle {
  stopping(): Promise<void>;
}

/**
 * Connects a started daemon's link to systemd when it runs as a Type=notify service
 * ($NOTIFY_SOCKET set); does nothing otherwise. READY=1 goes out as soon as the lines are
 * started, not when they are up: at boot the network or the cloud may be away for a long
 * time, and the service is doing its job (reconnecting) meanwhile. The STATUS line says how
 * many lines are up.
 */
export function notifySystemd(link: LinkSource, deps: SystemdDeps): SystemdHandle {
  const env = deps.env ?? process.env;
  const socket = env.NOTIFY_SOCKET;
  if (!socket) return { stopping: () => Promise.resolve() };
  const notifier = new ServiceNotifier({
    transport: deps.transport ?? systemdNotifyTransport(socket, deps.logger),
    clock: deps.clock ?? systemClock,
    watchdogIntervalMs: watchdogPingIntervalMs(env, deps.pid ?? process.pid),
  });
  const onChange = () => notifier.status(linkStatusText(link.status()));
  link.on('change', onChange);
  notifier.ready(linkStatusText(link.status()));
  return {
    stopping() {
      link.off('change', onChange);
      return notifier.stopping();
    },
  };
}
