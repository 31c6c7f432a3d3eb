import { readFileSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import { cpuLoad } from './host-info.ts';

/** The host's vital signs for telemetry. */
export interface HostMetrics {
  /** 1-minute load per core. */
  cpuLoad: number;
  memory: { totalBytes: number; freeBytes: number; rssBytes: number };
  /** SoC temperature, °C, when the board reports one (a Pi does). */
  temperatureC: number | null;
}

/** Where a Pi (and most Linux boards) report the SoC temperature, in millidegrees. */
export const THERMAL_ZONE = '/sys/class/thermal/thermal_zone0/temp';

/** Reads a millidegree thermal file; null when absent or unreadable. */
export function readTemperature(file = THERMAL_ZONE): number | null {
  try {
    const milli = Number(readFileSync(file, 'utf8').trim());
    return Number.isFinite(milli) ? Math.round(milli / 100) / 10 : null;
  } catch {
    return null;
  }
}

/** Samples CPU, memory and temperature now. */
export function hostMetrics(thermalFile = THERMAL_ZONE): HostMetrics {
  return {
    cpuLoad: cpuLoad(),
    memory: { totalBytes: totalmem(), freeBytes: freemem(), rssBytes: process.memoryUsage.rss() },
    temperatureC: readTemperature(thermalFile),
  };
}
