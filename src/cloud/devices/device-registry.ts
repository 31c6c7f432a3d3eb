import type { DeviceReport } from '../../protocol/messages.ts';

/** How a device's direct connection reaches the cloud: by itself, or relayed by its gateway. */
export type DirectVia = 'own' | 'gateway';

/** What an administrator may override of a reported device. */
export interface DeviceOverride {
  directCapable?: boolean;
  directVia?: DirectVia;
  spec?: Record<string, string | number | boolean>;
}

/** A device as the cloud's management server knows it: the gateway's report, overridden by an admin. */
export interface RegisteredDevice {
  gatewayId: string;
  id: string;
  driver: string;
  address: string;
  jobTypes: ('print' | 'storage')[];
  directCapable: boolean;
  /** The route of its direct connection; a switch command names it (docs/jobs.md). */
  directVia: DirectVia;
  spec: Record<string, string | number | boolean>;
  /** What the administrator changed, if anything. */
  override: DeviceOverride | null;
  /** When the gateway last reported the device (ms since epoch). */
  reportedAt: number;
}

/** A devices row as either database returns it. */
export interface DeviceRow {
  gateway_id: string;
  device_id: string;
  report: string;
  override: string | null;
  reported_at: number;
}

/** A devices row as a RegisteredDevice. */
export function toDevice(row: DeviceRow): RegisteredDevice {
  const report = JSON.parse(row.report) as DeviceReport;
  const override = row.override ? (JSON.parse(row.override) as DeviceOverride) : null;
  return {
    gatewayId: row.gateway_id,
    id: row.device_id,
    driver: report.driver,
    address: report.address,
    jobTypes: report.jobTypes,
    directCapable: override?.directCapable ?? report.directCapable,
    directVia: override?.directVia ?? report.directVia ?? 'own',
    spec: { ...report.spec, ...override?.spec },
    override,
    reportedAt: row.reported_at,
  };
}

/**
 * The device attribute registry (seed 001's management server): per device its gateway,
 * address, protocols, whether it can connect to the cloud by itself, and its spec.
 * Gateways report their configured devices in each hello; overrides survive the reports.
 */
export interface DeviceRegistry {
  /** Replaces a gateway's reported devices; devices it no longer reports are forgotten (with their overrides). */
  report(gatewayId: string, devices: readonly DeviceReport[], now: number): Promise<void>;
  get(gatewayId: string, deviceId: string): Promise<RegisteredDevice | undefined>;
  /** Every device, or a gateway's. */
  list(gatewayId?: string): Promise<RegisteredDevice[]>;
  /** Sets (or with null clears) an administrator's override; undefined when the device is unknown. */
  setOverride(
    gatewayId: string,
    deviceId: string,
    override: DeviceOverride | null,
  ): Promise<RegisteredDevice | undefined>;
}
