import { parseCron } from '../../calendar/cron-fires.ts';
import type { GatewayConfig } from '../../config/gateway-config.ts';
import type { PowerMode } from '../keepalive/power-policy.ts';
import type { SchedulePolicy } from './mode-schedule.ts';

/** The configured power modes, as the keep-alive policy wants them. */
export function powerModesFrom(power: GatewayConfig['power']): Record<string, PowerMode> {
  return Object.fromEntries(
    Object.entries(power.modes).map(([name, m]) => [
      name,
      {
        name,
        minIntervalMs: m.minInterval,
        changeThresholdMs: m.changeThreshold,
        telemetryEveryMs: m.telemetryEvery,
        snmpEveryMs: m.snmpEvery,
      },
    ]),
  );
}

/** The configured schedules (expressions already validated by the config schema). */
export function schedulePolicyFrom(power: GatewayConfig['power']): SchedulePolicy {
  return {
    baseMode: power.mode,
    timeZone: power.timezone,
    schedules: power.schedules.map((s) => ({ cron: parseCron(s.cron), mode: s.mode })),
  };
}
