import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { DeviceMonitor } from '../devices/device-monitor.ts';
import type { JobTunnels } from '../jobs/job-tunnels.ts';
import type { TunnelEndpoint } from '../tunnels/tunnel-endpoint.ts';

/** How often the page hears of jobs and tunnels while any run: their byte counts move on their own. */
export const ACTIVITY_TICK_MS = 1_000;

export interface ActivitySources {
  clock: Clock;
  deviceMonitor: Pick<DeviceMonitor, 'on' | 'off'>;
  tunnels: Pick<TunnelEndpoint, 'on' | 'off' | 'activeCount'>;
  jobs: Pick<JobTunnels, 'activeJobs'>;
}

/**
 * Tells the page when its devices, tunnels and jobs sections change: at once when a device
 * changes state and when a tunnel opens or closes, and once per tick while tunnels or jobs
 * are active (progress, rates), stopping when the last one ends. The page coalesces these
 * into at most one message per `status.live.minGap`. Returns the means to stop watching.
 */
export function watchActivity(
  sources: ActivitySources,
  noteChange: () => void,
  tickMs = ACTIVITY_TICK_MS,
): () => void {
  const { clock } = sources;
  let ticker: TimerHandle | undefined;
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
  sources.deviceMonitor.on('change', noteChange);
  sources.tunnels.on('open', onTunnelOpen);
  sources.tunnels.on('close', noteChange);
  return () => {
    clock.clearTimeout(ticker);
    ticker = undefined;
    sources.deviceMonitor.off('change', noteChange);
    sources.tunnels.off('open', onTunnelOpen);
    sources.tunnels.off('close', noteChange);
  };
}
