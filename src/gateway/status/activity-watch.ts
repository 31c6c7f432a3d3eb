import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { EventSource } from '../../lifecycle/event-bus.ts';
import type { GatewayEvents } from '../gateway-context.ts';
import type { JobTunnels } from '../jobs/job-tunnels.ts';
import type { TunnelEndpoint } from '../tunnels/tunnel-endpoint.ts';
import type { ShownProxyStatus } from './gateway-providers.ts';

/** How often the page hears of jobs and tunnels while any run: their byte counts move on their own. */
export const ACTIVITY_TICK_MS = 1_000;

export interface ActivitySources {
  clock: Clock;
  /** Where devices' changes and tunnels opening and closing are heard. */
  events: EventSource<Pick<GatewayEvents, 'device-change' | 'tunnel-opened' | 'tunnel-closed'>>;
  /** Whose listeners these are on `events` (stopping removes them all). */
  owner: string;
  tunnels: Pick<TunnelEndpoint, 'activeCount'>;
  jobs: Pick<JobTunnels, 'activeJobs'>;
  /** The LAN push proxy, when `pushProxy` is configured. */
  pushProxy?: { status(): ShownProxyStatus } | null;
}

/**
 * Tells the page when its devices, tunnels, jobs and push proxy sections change: at once
 * when a device changes state and when a tunnel opens or closes, and once per tick while
 * tunnels or jobs are active (progress, rates), stopping when the last one ends. The push
 * proxy has no events: its state is read once per tick (memory only) and the page told only
 * when a proxied device's state, held pushes, push counts or keep-alives moved. The page
 * coalesces all this into at most one message per `status.live.minGap`. Returns the means
 * to stop watching.
 */
export function watchActivity(
  sources: ActivitySources,
  noteChange: () => void,
  tickMs = ACTIVITY_TICK_MS,
): () => void {
  const { clock, pushProxy } = sources;
  let ticker: TimerHandle | undefined;
  let proxyTicker: TimerHandle | undefined;
  const busy = () => sources.tunnels.activeCount > 0 || sources.jobs.activeJobs > 0;
  const tick = () => {
    ticker = undefined;
    noteChange();
    if (busy()) ticker = clock.setTimeout(tick, tickMs);
  };
  const onTunnelOpen = () => {
    noteChange();
    ticker ??= clock.setTimeout(tick, tickMs);
  };
  if (pushProxy) {
    let seen = proxySignature(pushProxy.status());
    const checkProxy = () => {
      const current = proxySignature(pushProxy.status());
      if (current !== seen) noteChange();
      seen = current;
      proxyTicker = clock.setTimeout(checkProxy, tickMs);
    };
    proxyTicker = clock.setTimeout(checkProxy, tickMs);
  }
  const { events, owner } = sources;
  events.on(owner, 'device-change', noteChange);
  events.on(owner, 'tunnel-opened', onTunnelOpen);
  events.on(owner, 'tunnel-closed', noteChange);
  return () => {
    clock.clearTimeout(ticker);
    clock.clearTimeout(proxyTicker);
    ticker = undefined;
    proxyTicker = undefined;
    events.removeOwner(owner);
  };
}

/** What of the proxy's state is worth a message of its own (bytes follow with the next one). */
function proxySignature(status: ShownProxyStatus): string {
  const devices = status.devices.map(
    (d) =>
      `${d.id}:${d.state}@${d.since}:${d.held}:${d.pushes.delivered}/${d.pushes.held}/${d.pushes.expired}/${d.pushes.refused}:${d.keepalives.count}:${d.upstream.state}`,
  );
  return `${status.listening?.port ?? '-'} ${status.refused} ${status.held.pushes} ${devices.join(' ')}`;
}
