import { createSocket, type Socket, type SocketType } from 'node:dgram';
import {
  createAgent,
  MaxAccess,
  type Mib,
  MibProviderType,
  ObjectType,
  type TableColumn,
  type TableIndexEntry,
} from 'net-snmp';
import {
  encodeDetectedErrorState,
  HR_DEVICE_STATUS,
  HR_PRINTER_STATUS,
  type PrinterErrorBit,
} from '../../devices/snmp/printer-mib.ts';
import type { SimFault } from './sim-mfp.ts';

/** What the agent reads from the simulated printer (SimMfp has it all). */
export interface SnmpPrinterSource {
  readonly pageCounter: number;
  readonly tonerState: { level: number; capacity: number };
  readonly currentFault: SimFault | undefined;
  /** Calls fn whenever counters or faults change; returns the unsubscribe. */
  onChange(fn: () => void): () => void;
}

export interface SimSnmpAgentOptions {
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** UDP port (default: a free high port, see `port` after listen()). */
  port?: number;
  /** The one v2c community answered; requests with another get no reply, as on a real printer. */
  community?: string;
  /** Told of every request the agent drops (unknown community, not SNMP), with net-snmp's reason. */
  onRequestRefused?: (reason: Error) => void;
}

/** The sim's printer is row 1 of every table; its one marker and its toner are index 1 too. */
const PRINTER = 1;
const MARKER = 1;
const TONER = 1;
/** hrDeviceType of a printer: hrDevicePrinter (RFC 2790). */
const HR_DEVICE_PRINTER = '1.3.6.1.2.1.25.3.1.5';
/** PrtMarkerCounterUnitTC / PrtMarkerSuppliesSupplyUnitTC impressions(7): the sim counts toner in pages. */
const UNIT_IMPRESSIONS = 7;
/** Toner at or below this share of its capacity raises lowToner, as printers warn before it runs out. */
const LOW_TONER_FRACTION = 0.1;

const column = (
  number: number,
  name: string,
  type: number,
  maxAccess: number = MaxAccess['read-only'],
): TableColumn => ({ number, name, type, maxAccess });

/** A table provider at an entry OID; index columns named, foreign ones (hrDeviceIndex) first. */
const table = (name: string, oid: string, tableColumns: TableColumn[], tableIndex: TableIndexEntry[]) => ({
  name,
  type: MibProviderType.Table,
  oid,
  maxAccess: MaxAccess['not-accessible'],
  tableColumns,
  tableIndex,
});

const BY_DEVICE: TableIndexEntry = { columnName: 'hrDeviceIndex', foreign: 'hrDeviceEntry' };

const PROVIDERS = [
  table(
    'hrDeviceEntry',
    '1.3.6.1.2.1.25.3.2.1',
    [
      column(1, 'hrDeviceIndex', ObjectType.Integer),
      column(2, 'hrDeviceType', ObjectType.OID),
      column(3, 'hrDeviceDescr', ObjectType.OctetString),
      column(4, 'hrDeviceID', ObjectType.OID),
      column(5, 'hrDeviceStatus', ObjectType.Integer),
      column(6, 'hrDeviceErrors', ObjectType.Counter32),
    ],
    [{ columnName: 'hrDeviceIndex' }],
  ),
  table(
    'hrPrinterEntry',
    '1.3.6.1.2.1.25.3.5.1',
    [
      column(1, 'hrPrinterStatus', ObjectType.Integer),
      column(2, 'hrPrinterDetectedErrorState', ObjectType.OctetString),
    ],
    [BY_DEVICE],
  ),
  table(
    'prtMarkerEntry',
    '1.3.6.1.2.1.43.10.2.1',
    [
      column(1, 'prtMarkerIndex', ObjectType.Integer, MaxAccess['not-accessible']),
      column(3, 'prtMarkerCounterUnit', ObjectType.Integer),
      column(4, 'prtMarkerLifeCount', ObjectType.Counter32),
    ],
    [BY_DEVICE, { columnName: 'prtMarkerIndex' }],
  ),
  table(
    'prtMarkerSuppliesEntry',
    '1.3.6.1.2.1.43.11.1.1',
    [
      column(1, 'prtMarkerSuppliesIndex', ObjectType.Integer, MaxAccess['not-accessible']),
      column(2, 'prtMarkerSuppliesMarkerIndex', ObjectType.Integer),
      column(4, 'prtMarkerSuppliesClass', ObjectType.Integer),
      column(5, 'prtMarkerSuppliesType', ObjectType.Integer),
      column(6, 'prtMarkerSuppliesDescription', ObjectType.OctetString),
      column(7, 'prtMarkerSuppliesSupplyUnit', ObjectType.Integer),
      column(8, 'prtMarkerSuppliesMaxCapacity', ObjectType.Integer),
      column(9, 'prtMarkerSuppliesLevel', ObjectType.Integer),
    ],
    [BY_DEVICE, { columnName: 'prtMarkerSuppliesIndex' }],
  ),
];

/** How the sim's condition reads in the Host Resources MIB (RFC 3805 section 2.2.13.2). */
function printerMibState(source: SnmpPrinterSource): {
  hrDeviceStatus: number;
  hrPrinterStatus: number;
  errors: PrinterErrorBit[];
} {
  const errors: PrinterErrorBit[] = [];
  let critical = false;
  if (source.currentFault === 'paper-out') {
    errors.push('noPaper');
    critical = true;
  }
  if (source.currentFault === 'offline') {
    errors.push('offline');
    critical = true;
  }
  const toner = source.tonerState;
  if (toner.level <= 0) {
    errors.push('noToner');
    critical = true;
  } else if (toner.level <= toner.capacity * LOW_TONER_FRACTION) {
    errors.push('lowToner');
  }
  return {
    hrDeviceStatus: critical
      ? HR_DEVICE_STATUS.down
      : errors.length > 0
        ? HR_DEVICE_STATUS.warning
        : HR_DEVICE_STATUS.running,
    hrPrinterStatus: critical ? HR_PRINTER_STATUS.other : HR_PRINTER_STATUS.idle,
    errors,
  };
}

/**
 * The sim MFP's SNMP v2c agent (net-snmp) serving the Host Resources and Printer MIB
 * objects a gateway polls: device and printer status, detected error state, the page
 * meter and the supplies table (toner in pages, plus an imaging drum that reports only
 * "some remaining" of an unknown capacity, as many real drums do). Values mirror the
 * sim's live state on every change it reports.
 */
export class SimSnmpAgent {
  private readonly source: SnmpPrinterSource;
  private readonly options: SimSnmpAgentOptions;
  private agent: ReturnType<typeof createAgent> | undefined;
  private unsubscribe: (() => void) | undefined;
  private boundPort: number | undefined;

  constructor(source: SnmpPrinterSource, options: SimSnmpAgentOptions = {}) {
    this.source = source;
    this.options = options;
  }

  /** Starts answering; resolves with the UDP port once the socket is bound. */
  async listen(): Promise<number> {
    const host = this.options.host ?? '127.0.0.1';
    // A free port found first can be taken before the agent binds it: try a few.
    for (let attempt = 1; ; attempt++) {
      const port = this.options.port ?? (await freeUdpPort(host));
      try {
        await this.start(host, port);
        this.boundPort = port;
        return port;
      } catch (err) {
        const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
        if (!inUse || this.options.port !== undefined || attempt >= 5) throw err;
      }
    }
  }

  /** The bound UDP port; throws before listen(). */
  get port(): number {
    if (this.boundPort === undefined) throw new Error('SimSnmpAgent.port read before listen()');
    return this.boundPort;
  }

  /** Stops answering and releases the port. */
  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const agent = this.agent;
    this.agent = undefined;
    if (agent) await new Promise<void>((resolve) => agent.close(() => resolve()));
  }

  private async start(host: string, port: number): Promise<void> {
    let socket: Socket | undefined;
    // net-snmp binds its socket itself; a dgram module of our own lets us see it bound or failing.
    const dgramModule = {
      createSocket: (type: SocketType): Socket => {
        socket = createSocket(type);
        return socket;
      },
    };
    const agent = createAgent({ address: host, port, dgramModule }, (err) => {
      if (err) this.options.onRequestRefused?.(err);
    });
    const bound = socket as Socket | undefined;
    if (!bound) throw new Error('net-snmp created no socket for the agent');
    await new Promise<void>((resolve, reject) => {
      bound.once('listening', resolve);
      bound.once('error', reject);
    });
    agent.getAuthorizer().addCommunity(this.options.community ?? 'public');
    const mib = agent.getMib();
    this.populate(mib);
    this.agent = agent;
    this.unsubscribe = this.source.onChange(() => this.refresh(mib));
  }

  private populate(mib: Mib): void {
    for (const provider of PROVIDERS) mib.registerProvider(provider);
    const state = printerMibState(this.source);
    const toner = this.source.tonerState;
    mib.addTableRow('hrDeviceEntry', [
      PRINTER,
      HR_DEVICE_PRINTER,
      'mfp-gateway SimMfp',
      '0.0',
      state.hrDeviceStatus,
      0,
    ]);
    mib.addTableRow('hrPrinterEntry', [
      PRINTER,
      state.hrPrinterStatus,
      encodeDetectedErrorState(state.errors),
    ]);
    mib.addTableRow('prtMarkerEntry', [PRINTER, MARKER, UNIT_IMPRESSIONS, this.source.pageCounter]);
    // supplyThatIsConsumed(3); toner(3) and opc(9) from PrtMarkerSuppliesTypeTC.
    mib.addTableRow('prtMarkerSuppliesEntry', [
      PRINTER,
      TONER,
      MARKER,
      3,
      3,
      'Black Toner',
      UNIT_IMPRESSIONS,
      toner.capacity,
      toner.level,
    ]);
    mib.addTableRow('prtMarkerSuppliesEntry', [
      PRINTER,
      2,
      MARKER,
      3,
      9,
      'Imaging Drum',
      UNIT_IMPRESSIONS,
      -2,
      -3,
    ]);
  }

  private refresh(mib: Mib): void {
    const state = printerMibState(this.source);
    mib.setTableSingleCell('hrDeviceEntry', 5, [PRINTER], state.hrDeviceStatus);
    mib.setTableSingleCell('hrPrinterEntry', 1, [PRINTER], state.hrPrinterStatus);
    mib.setTableSingleCell('hrPrinterEntry', 2, [PRINTER], encodeDetectedErrorState(state.errors));
    mib.setTableSingleCell('prtMarkerEntry', 4, [PRINTER, MARKER], this.source.pageCounter);
    mib.setTableSingleCell(
      'prtMarkerSuppliesEntry',
      9,
      [PRINTER, TONER],
      Math.max(0, this.source.tonerState.level),
    );
  }
}

/** Asks the kernel for a UDP port on host that is free now (it may be taken before use). */
function freeUdpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
