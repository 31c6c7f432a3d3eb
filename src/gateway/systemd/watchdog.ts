/**
 * How often to send WATCHDOG=1, from the environment systemd gives a service with
 * WatchdogSec= set: half the timeout, as sd_watchdog_enabled(3) recommends, so one late
 * ping does not get the service killed. null when no watchdog is asked of this process.
 */
export function watchdogPingIntervalMs(env: NodeJS.ProcessEnv, pid: number): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isSafeInteger(usec) || usec <= 0) return null;
  // WATCHDOG_PID names the process the watchdog is meant for; a child that inherited the
  // variables must not ping on its parent's behalf.
  if (env.WATCHDOG_PID !== undefined && Number(env.WATCHDOG_PID) !== pid) return null;
  return Math.max(1, Math.floor(usec / 2000));
}
