import type { Varbind } from 'net-snmp';
import { onDemand } from '../../runtime/on-demand.ts';
import { DeviceError } from '../device-error.ts';
import {
  isValidSupplyValue,
  PRINTER_MIB_OIDS,
  type PrinterMibReadings,
  type SupplyReading,
} from './printer-mib.ts';

/** Which printer of the agent to read: its hrDeviceIndex and the marker whose meter counts pages. */
export interface PrinterIndex {
  hrDeviceIndex: number;
  markerIndex: number;
}

type ScalarName = 'hrDeviceStatus' | 'hrPrinterStatus' | 'hrPrinterDetectedErrorState' | 'prtMarkerLifeCount';

const SCALARS: ScalarName[] = [
  'hrDeviceStatus',
  'hrPrinterStatus',
  'hrPrinterDetectedErrorState',
  'prtMarkerLifeCount',
];

/** The instance OIDs of the status objects, in the order readScalars expects their varbinds. */
export function scalarOids(at: PrinterIndex): string[] {
  return SCALARS.map((name) =>
    name === 'prtMarkerLifeCount'
      ? `${PRINTER_MIB_OIDS[name]}.${at.hrDeviceIndex}.${at.markerIndex}`
      : `${PRINTER_MIB_OIDS[name]}.${at.hrDeviceIndex}`,
  );
}

/** The column of prtMarkerSuppliesTable holding this printer's rows, for a walk. */
export function supplyColumnOid(
  column: 'prtMarkerSuppliesDescription' | 'prtMarkerSuppliesMaxCapacity' | 'prtMarkerSuppliesLevel',
  at: PrinterIndex,
): string {
  return `${PRINTER_MIB_OIDS[column]}.${at.hrDeviceIndex}`;
}

/**
 * Type-checks the reply to a GET of scalarOids(at). An object the agent does not have
 * (noSuchObject / noSuchInstance) or a value of the wrong type is a malformed reply: the
 * device does not speak the Printer MIB as RFC 3805 defines it.
 */
export function readScalars(
  deviceId: string,
  at: PrinterIndex,
  varbinds: Varbind[],
): Omit<PrinterMibReadings, 'supplies'> {
  const oids = scalarOids(at);
  const vb = (i: number): Varbind => {
    const name = SCALARS[i] as ScalarName;
    const v = varbinds[i];
    if (!v || v.oid !== oids[i]) {
      throw malformed(deviceId, `the reply has no value for ${name} (${oids[i]}) where it should`);
    }
    if (onDemand('net-snmp').isVarbindError(v)) {
      throw malformed(
        deviceId,
        `the agent has no ${name} (${v.oid}); the device may not implement the Host Resources and Printer MIBs, or the printer is not hrDeviceIndex ${at.hrDeviceIndex}`,
      );
    }
    return v;
  };
  return {
    hrDeviceStatus: integer(deviceId, 'hrDeviceStatus', vb(0)),
    hrPrinterStatus: integer(deviceId, 'hrPrinterStatus', vb(1)),
    detectedErrorState: octets(deviceId, 'hrPrinterDetectedErrorState', vb(2)),
    lifeCount: counter(deviceId, 'prtMarkerLifeCount', vb(3)),
  };
}

/**
 * Joins the walked description, capacity and level columns by supply index. Every supply
 * that has a description must have a capacity and a level within the Printer MIB's ranges.
 */
export function readSupplies(
  deviceId: string,
  at: PrinterIndex,
  columns: { description: Varbind[]; maxCapacity: Varbind[]; level: Varbind[] },
): SupplyReading[] {
  const byIndex = (
    column: 'prtMarkerSuppliesDescription' | 'prtMarkerSuppliesMaxCapacity' | 'prtMarkerSuppliesLevel',
    varbinds: Varbind[],
  ): Map<string, Varbind> => {
    const base = `${supplyColumnOid(column, at)}.`;
    return new Map(varbinds.map((v) => [v.oid.slice(base.length), v]));
  };
  const capacities = byIndex('prtMarkerSuppliesMaxCapacity', columns.maxCapacity);
  const levels = byIndex('prtMarkerSuppliesLevel', columns.level);
  return [...byIndex('prtMarkerSuppliesDescription', columns.description)].map(([index, d]) => {
    const description = octets(deviceId, 'prtMarkerSuppliesDescription', d)
      .toString('utf8')
      .replace(/\0+$/, '')
      .trim();
    const cap = capacities.get(index);
    const lvl = levels.get(index);
    if (!cap || !lvl) {
      throw malformed(deviceId, `supply ${index} ("${description}") has no ${cap ? 'level' : 'capacity'}`);
    }
    const maxCapacity = integer(deviceId, 'prtMarkerSuppliesMaxCapacity', cap);
    const level = integer(deviceId, 'prtMarkerSuppliesLevel', lvl);
    if (!isValidSupplyValue('maxCapacity', maxCapacity) || !isValidSupplyValue('level', level)) {
      throw malformed(
        deviceId,
        `supply ${index} ("${description}") reports level ${level} of ${maxCapacity}, outside the Printer MIB's ranges`,
      );
    }
    return { description, maxCapacity, level };
  });
}

function integer(deviceId: string, name: string, v: Varbind): number {
  if (v.type !== onDemand('net-snmp').ObjectType.Integer || typeof v.value !== 'number')
    throw wrongType(deviceId, name, v, 'INTEGER');
  return v.value;
}

function counter(deviceId: string, name: string, v: Varbind): number {
  if (v.type !== onDemand('net-snmp').ObjectType.Counter32 || typeof v.value !== 'number')
    throw wrongType(deviceId, name, v, 'Counter32');
  return v.value;
}

function octets(deviceId: string, name: string, v: Varbind): Buffer {
  if (v.type !== onDemand('net-snmp').ObjectType.OctetString || !Buffer.isBuffer(v.value)) {
    throw wrongType(deviceId, name, v, 'OCTET STRING');
  }
  return v.value;
}

/** SMI names of the tags a reply may carry, for messages. */
const typeNames = (ObjectType: typeof import('net-snmp').ObjectType): Record<number, string> => ({
  [ObjectType.Boolean]: 'BOOLEAN',
  [ObjectType.Integer]: 'INTEGER',
  [ObjectType.BitString]: 'BIT STRING',
  [ObjectType.OctetString]: 'OCTET STRING',
  [ObjectType.Null]: 'NULL',
  [ObjectType.OID]: 'OBJECT IDENTIFIER',
  [ObjectType.IpAddress]: 'IpAddress',
  [ObjectType.Counter32]: 'Counter32',
  [ObjectType.Gauge32]: 'Gauge32',
  [ObjectType.TimeTicks]: 'TimeTicks',
  [ObjectType.Opaque]: 'Opaque',
  [ObjectType.Counter64]: 'Counter64',
});

function wrongType(deviceId: string, name: string, v: Varbind, expected: string): DeviceError {
  const got = typeNames(onDemand('net-snmp').ObjectType)[v.type] ?? `type 0x${v.type.toString(16)}`;
  return malformed(deviceId, `${name} (${v.oid}) came as ${got}, not ${expected}`);
}

function malformed(deviceId: string, detail: string): DeviceError {
  return new DeviceError(
    'MFP_DEV_ERR_MALFORMED_REPLY',
    deviceId,
    `SNMP reply does not follow the Printer MIB: ${detail}; check the device's SNMP agent or firmware`,
  );
}
