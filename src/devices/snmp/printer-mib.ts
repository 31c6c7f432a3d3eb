import type { DeviceState, SupplyLevel } from '../device-driver.ts';

/**
 * The Host Resources MIB (RFC 2790) and Printer MIB v2 (RFC 3805) objects a status poll
 * reads, what their values mean, and how they add up to a device state. Pure: no I/O.
 * Column OIDs are given without their instance; rows of the printer are indexed by its
 * hrDeviceIndex (and for markers and supplies by a second, table-local index).
 */
export const PRINTER_MIB_OIDS = {
  /** hrDeviceEntry column 5; INTEGER, see HR_DEVICE_STATUS. */
  hrDeviceStatus: '1.3.6.1.2.1.25.3.2.1.5',
  /** hrPrinterEntry column 1; INTEGER, see HR_PRINTER_STATUS. */
  hrPrinterStatus: '1.3.6.1.2.1.25.3.5.1.1',
  /** hrPrinterEntry column 2; OCTET STRING holding a bit string, see PRINTER_ERROR_BITS. */
  hrPrinterDetectedErrorState: '1.3.6.1.2.1.25.3.5.1.2',
  /** prtMarkerEntry column 4; Counter32, pages (impressions) since the marker was made. */
  prtMarkerLifeCount: '1.3.6.1.2.1.43.10.2.1.4',
  /** prtMarkerSuppliesEntry column 6; OCTET STRING, e.g. "Black Toner". */
  prtMarkerSuppliesDescription: '1.3.6.1.2.1.43.11.1.1.6',
  /** prtMarkerSuppliesEntry column 8; Integer32, capacity in the supply's unit or a special value. */
  prtMarkerSuppliesMaxCapacity: '1.3.6.1.2.1.43.11.1.1.8',
  /** prtMarkerSuppliesEntry column 9; Integer32, level in the supply's unit or a special value. */
  prtMarkerSuppliesLevel: '1.3.6.1.2.1.43.11.1.1.9',
} as const;

/** hrDeviceStatus values (RFC 2790). */
export const HR_DEVICE_STATUS = { unknown: 1, running: 2, warning: 3, testing: 4, down: 5 } as const;

/** hrPrinterStatus values (RFC 2790). */
export const HR_PRINTER_STATUS = { other: 1, unknown: 2, idle: 3, printing: 4, warmup: 5 } as const;

/**
 * hrPrinterDetectedErrorState bits in order: bit 0 is the most significant bit of the
 * first octet (RFC 2790; bits 8-15 from RFC 3805), each with the IPP printer-state-reasons
 * keyword every driver reports.
 */
export const PRINTER_ERROR_BITS = [
  { name: 'lowPaper', reason: 'media-low' },
  { name: 'noPaper', reason: 'media-empty' },
  { name: 'lowToner', reason: 'toner-low' },
  { name: 'noToner', reason: 'toner-empty' },
  { name: 'doorOpen', reason: 'door-open' },
  { name: 'jammed', reason: 'media-jam' },
  { name: 'offline', reason: 'offline' },
  { name: 'serviceRequested', reason: 'other' },
  { name: 'inputTrayMissing', reason: 'input-tray-missing' },
  { name: 'outputTrayMissing', reason: 'output-tray-missing' },
  { name: 'markerSupplyMissing', reason: 'marker-supply-missing' },
  { name: 'outputNearFull', reason: 'output-area-almost-full' },
  { name: 'outputFull', reason: 'output-area-full' },
  { name: 'inputTrayEmpty', reason: 'input-tray-empty' },
  { name: 'overduePreventMaint', reason: 'other' },
] as const;

export type PrinterErrorBit = (typeof PRINTER_ERROR_BITS)[number]['name'];

/** Encodes error conditions as hrPrinterDetectedErrorState: two octets, as RFC 3805 agents send. */
export function encodeDetectedErrorState(bits: Iterable<PrinterErrorBit>): Buffer {
  const out = Buffer.alloc(2);
  for (const bit of bits) {
    const n = PRINTER_ERROR_BITS.findIndex((b) => b.name === bit);
    out[n >> 3] = (out[n >> 3] ?? 0) | (0x80 >> (n & 7));
  }
  return out;
}

/** The reasons set in an hrPrinterDetectedErrorState value; bits beyond the known ones are ignored. */
export function reasonsOfDetectedErrorState(octets: Buffer): string[] {
  const reasons: string[] = [];
  PRINTER_ERROR_BITS.forEach((bit, n) => {
    if (((octets[n >> 3] ?? 0) & (0x80 >> (n & 7))) !== 0) reasons.push(bit.reason);
  });
  return [...new Set(reasons)];
}

/**
 * Special values of prtMarkerSuppliesLevel and MaxCapacity (RFC 3805): -1 "other" (for a
 * level: no restriction, e.g. a supply that never runs out), -2 "unknown", and for a level
 * only -3 "some remaining" (at least one unit left, amount not measured).
 */
export const SUPPLY_SPECIAL_VALUES = { '-1': 'other', '-2': 'unknown', '-3': 'some-remaining' } as const;

export type SupplySpecial = (typeof SUPPLY_SPECIAL_VALUES)[keyof typeof SUPPLY_SPECIAL_VALUES];

/** A supply as SNMP reports it: SupplyLevel plus why the level or capacity is absent. */
export interface SnmpSupplyLevel extends SupplyLevel {
  /** Set when the level is one of the special values instead of an amount. */
  levelSpecial?: SupplySpecial;
  /** Set when the capacity is one of the special values ("other" or "unknown"). */
  capacitySpecial?: Exclude<SupplySpecial, 'some-remaining'>;
}

/** One row of prtMarkerSuppliesTable as read, values already type-checked. */
export interface SupplyReading {
  description: string;
  maxCapacity: number;
  level: number;
}

/** The values a status poll reads, already type-checked. */
export interface PrinterMibReadings {
  hrDeviceStatus: number;
  hrPrinterStatus: number;
  detectedErrorState: Buffer;
  lifeCount: number;
  supplies: SupplyReading[];
}

/** What the readings say about the device, as the fields of a DeviceStatus. */
export interface PrinterMibStatus {
  state: DeviceState;
  reasons: string[];
  pageCount: number;
  supplies: SnmpSupplyLevel[];
}

/**
 * Combines the three status objects the way RFC 3805 section 2.2.13.2 tabulates them:
 * hrDeviceStatus down (critical alert, off-line, unavailable) or testing means the printer
 * does not print: stopped. Otherwise hrPrinterStatus printing is printing, and idle, warmup
 * and other (standby) are idle. The error bits give the reasons; a stop with no bit set
 * says 'other' so a stopped device never shows an empty reason.
 */
export function interpretPrinterMib(readings: PrinterMibReadings): PrinterMibStatus {
  const reasons = reasonsOfDetectedErrorState(readings.detectedErrorState);
  let state: DeviceState = 'idle';
  if (
    readings.hrDeviceStatus === HR_DEVICE_STATUS.down ||
    readings.hrDeviceStatus === HR_DEVICE_STATUS.testing
  ) {
    state = 'stopped';
    if (reasons.length === 0) reasons.push('other');
  } else if (readings.hrPrinterStatus === HR_PRINTER_STATUS.printing) {
    state = 'printing';
  }
  return {
    state,
    reasons,
    pageCount: readings.lifeCount,
    supplies: readings.supplies.map(supplyLevel),
  };
}

/** Valid ranges (RFC 3805): level -3.., capacity -2..; below is a malformed value. */
export function isValidSupplyValue(kind: 'level' | 'maxCapacity', value: number): boolean {
  return Number.isInteger(value) && value >= (kind === 'level' ? -3 : -2);
}

function supplyLevel(s: SupplyReading): SnmpSupplyLevel {
  const out: SnmpSupplyLevel = { name: s.description };
  if (s.level >= 0) out.level = s.level;
  else out.levelSpecial = SUPPLY_SPECIAL_VALUES[String(s.level) as keyof typeof SUPPLY_SPECIAL_VALUES];
  if (s.maxCapacity >= 0) out.maxCapacity = s.maxCapacity;
  else if (s.maxCapacity === -1) out.capacitySpecial = 'other';
  else out.capacitySpecial = 'unknown';
  if (out.level !== undefined && out.maxCapacity !== undefined && out.maxCapacity > 0) {
    out.fraction = Math.min(1, out.level / out.maxCapacity);
  }
  return out;
}
