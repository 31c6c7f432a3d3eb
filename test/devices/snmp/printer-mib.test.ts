import { describe, expect, it } from 'vitest';
import {
  encodeDetectedErrorState,
  HR_DEVICE_STATUS,
  HR_PRINTER_STATUS,
  interpretPrinterMib,
  type PrinterMibReadings,
  reasonsOfDetectedErrorState,
} from '../../../src/devices/snmp/printer-mib.ts';

const readings = (over: Partial<PrinterMibReadings> = {}): PrinterMibReadings => ({
  hrDeviceStatus: HR_DEVICE_STATUS.running,
  hrPrinterStatus: HR_PRINTER_STATUS.idle,
  detectedErrorState: Buffer.from([0, 0]),
  lifeCount: 7,
  supplies: [],
  ...over,
});

describe('hrPrinterDetectedErrorState', () => {
  it('reads bit 0 as the most significant bit of the first octet (RFC 2790)', () => {
    expect(reasonsOfDetectedErrorState(Buffer.from([0x80]))).toEqual(['media-low']);
    expect(reasonsOfDetectedErrorState(Buffer.from([0x40]))).toEqual(['media-empty']);
    expect(reasonsOfDetectedErrorState(Buffer.from([0x20]))).toEqual(['toner-low']);
    expect(reasonsOfDetectedErrorState(Buffer.from([0x10]))).toEqual(['toner-empty']);
    expect(reasonsOfDetectedErrorState(Buffer.from([0x08]))).toEqual(['door-open']);
    expect(reasonsOfDetectedErrorState(Buffer.from([0x04]))).toEqual(['media-jam']);
    expect(reasonsOfDetectedErrorState(Buffer.from([0x02]))).toEqual(['offline']);
  });

  it('reads the RFC 3805 bits of the second octet and tolerates a one-octet value', () => {
    expect(reasonsOfDetectedErrorState(Buffer.from([0x00, 0x80]))).toEqual(['input-tray-missing']);
    expect(reasonsOfDetectedErrorState(Buffer.from([0x00, 0x08]))).toEqual(['output-area-full']);
    expect(reasonsOfDetectedErrorState(Buffer.from([0x00]))).toEqual([]);
    expect(reasonsOfDetectedErrorState(Buffer.alloc(0))).toEqual([]);
  });

  it('encodes what it decodes', () => {
    const bits = encodeDetectedErrorState(['noPaper', 'doorOpen', 'outputTrayMissing']);
    expect([...bits]).toEqual([0x48, 0x40]);
    expect(reasonsOfDetectedErrorState(bits)).toEqual(['media-empty', 'door-open', 'output-tray-missing']);
  });
});

describe('device state from hrDeviceStatus and hrPrinterStatus (RFC 3805 2.2.13.2)', () => {
  it('running + idle is idle; running + printing is printing; standby and warmup are idle', () => {
    expect(interpretPrinterMib(readings()).state).toBe('idle');
    expect(interpretPrinterMib(readings({ hrPrinterStatus: HR_PRINTER_STATUS.printing })).state).toBe(
      'printing',
    );
    expect(interpretPrinterMib(readings({ hrPrinterStatus: HR_PRINTER_STATUS.other })).state).toBe('idle');
    expect(interpretPrinterMib(readings({ hrPrinterStatus: HR_PRINTER_STATUS.warmup })).state).toBe('idle');
  });

  it('down is stopped with the error bits as reasons', () => {
    const s = interpretPrinterMib(
      readings({
        hrDeviceStatus: HR_DEVICE_STATUS.down,
        hrPrinterStatus: HR_PRINTER_STATUS.other,
        detectedErrorState: encodeDetectedErrorState(['noPaper']),
      }),
    );
    expect(s).toMatchObject({ state: 'stopped', reasons: ['media-empty'], pageCount: 7 });
  });

  it('a stop without any bit set still says why: other', () => {
    expect(interpretPrinterMib(readings({ hrDeviceStatus: HR_DEVICE_STATUS.down })).reasons).toEqual([
      'other',
    ]);
  });

  it('a warning keeps the printer working and reports its bits', () => {
    const s = interpretPrinterMib(
      readings({
        hrDeviceStatus: HR_DEVICE_STATUS.warning,
        hrPrinterStatus: HR_PRINTER_STATUS.printing,
        detectedErrorState: encodeDetectedErrorState(['lowToner']),
      }),
    );
    expect(s).toMatchObject({ state: 'printing', reasons: ['toner-low'] });
  });
});

describe('supply levels and the special values', () => {
  const supply = (maxCapacity: number, level: number) =>
    interpretPrinterMib(readings({ supplies: [{ description: 'Black Toner', maxCapacity, level }] }))
      .supplies[0];

  it('gives level, capacity and fraction when both are amounts', () => {
    expect(supply(1000, 250)).toEqual({ name: 'Black Toner', level: 250, maxCapacity: 1000, fraction: 0.25 });
  });

  it('-3 is "some remaining", -2 "unknown", -1 "other", with no fraction', () => {
    expect(supply(1000, -3)).toEqual({
      name: 'Black Toner',
      maxCapacity: 1000,
      levelSpecial: 'some-remaining',
    });
    expect(supply(-2, 40)).toEqual({ name: 'Black Toner', level: 40, capacitySpecial: 'unknown' });
    expect(supply(-1, -1)).toEqual({ name: 'Black Toner', levelSpecial: 'other', capacitySpecial: 'other' });
    expect(supply(-2, -2)).toEqual({
      name: 'Black Toner',
      levelSpecial: 'unknown',
      capacitySpecial: 'unknown',
    });
  });

  it('a capacity of 0 gives no fraction; a level above capacity is full, not more', () => {
    expect(supply(0, 0)).toEqual({ name: 'Black Toner', level: 0, maxCapacity: 0 });
    expect(supply(100, 120)?.fraction).toBe(1);
  });
});
