import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemClock } from '../../../src/clock/system-clock.ts';
import { PRINTER_MIB_OIDS as OID } from '../../../src/devices/snmp/printer-mib.ts';
import { SnmpPoller } from '../../../src/devices/snmp/snmp-poller.ts';
import { type SnmpdHandle, type SnmpdValue, startSnmpd } from '../../support/snmpd.ts';

/** Two printers behind one agent, as a print server or a multi-engine MFP has them. */
const printers: SnmpdValue[] = [
  // Printer 1: running and printing, toner low (bit 2: 0x20), meter 48211, two supplies.
  { oid: `${OID.hrDeviceStatus}.1`, type: 'integer', value: 3 },
  { oid: `${OID.hrPrinterStatus}.1`, type: 'integer', value: 4 },
  { oid: `${OID.hrPrinterDetectedErrorState}.1`, type: 'octet_str', value: '0x2000' },
  { oid: `${OID.prtMarkerLifeCount}.1.1`, type: 'counter', value: 48_211 },
  { oid: `${OID.prtMarkerSuppliesDescription}.1.1`, type: 'octet_str', value: 'Black Toner' },
  { oid: `${OID.prtMarkerSuppliesMaxCapacity}.1.1`, type: 'integer', value: 100 },
  { oid: `${OID.prtMarkerSuppliesLevel}.1.1`, type: 'integer', value: 12 },
  { oid: `${OID.prtMarkerSuppliesDescription}.1.2`, type: 'octet_str', value: 'Waste Toner Box' },
  { oid: `${OID.prtMarkerSuppliesMaxCapacity}.1.2`, type: 'integer', value: -2 },
  { oid: `${OID.prtMarkerSuppliesLevel}.1.2`, type: 'integer', value: -3 },
  // Printer 2: down, out of paper (bit 1: 0x40), its meter on marker 2.
  { oid: `${OID.hrDeviceStatus}.2`, type: 'integer', value: 5 },
  { oid: `${OID.hrPrinterStatus}.2`, type: 'integer', value: 1 },
  { oid: `${OID.hrPrinterDetectedErrorState}.2`, type: 'octet_str', value: '0x4000' },
  { oid: `${OID.prtMarkerLifeCount}.2.2`, type: 'counter', value: 7 },
  { oid: `${OID.prtMarkerSuppliesDescription}.2.1`, type: 'octet_str', value: 'Cyan Ink' },
  { oid: `${OID.prtMarkerSuppliesMaxCapacity}.2.1`, type: 'integer', value: 400 },
  { oid: `${OID.prtMarkerSuppliesLevel}.2.1`, type: 'integer', value: 400 },
];

describe('SNMP meters from Debian’s snmpd serving the Printer MIB', () => {
  let agent: SnmpdHandle;
  const clock = new SystemClock();
  const poller = (over: { hrDeviceIndex?: number; markerIndex?: number; community?: string } = {}) =>
    new SnmpPoller({
      id: 'mfp',
      host: '127.0.0.1',
      port: agent.port,
      clock,
      timeoutMs: 2_000,
      retries: 1,
      ...over,
    });

  beforeAll(async () => {
    agent = await startSnmpd(printers);
  });
  afterAll(() => agent?.stop());

  it('reads state, reasons, page meter and supplies (walked with GETBULK) of the printer it is told', async () => {
    expect(await poller().poll()).toEqual({
      state: 'printing',
      reasons: ['toner-low'],
      pageCount: 48_211,
      supplies: [
        { name: 'Black Toner', level: 12, maxCapacity: 100, fraction: 0.12 },
        { name: 'Waste Toner Box', levelSpecial: 'some-remaining', capacitySpecial: 'unknown' },
      ],
      since: expect.any(Number),
    });
  });

  it('reads the second printer of the agent by its hrDeviceIndex and marker, not the first one’s rows', async () => {
    expect(await poller({ hrDeviceIndex: 2, markerIndex: 2 }).poll()).toEqual({
      state: 'stopped',
      reasons: ['media-empty'],
      pageCount: 7,
      supplies: [{ name: 'Cyan Ink', level: 400, maxCapacity: 400, fraction: 1 }],
      since: expect.any(Number),
    });
  });

  it('reads an object the agent does not have as a malformed reply, naming it', async () => {
    await expect(poller({ markerIndex: 9 }).poll()).rejects.toMatchObject({
      code: 'MFP_DEV_ERR_MALFORMED_REPLY',
      message: expect.stringContaining('prtMarkerLifeCount'),
    });
  });
});
