/**
 * The part of net-snmp 3.x (which ships no types) that mfp-gateway uses: v1/v2c sessions
 * (get, getBulk), the agent with its MIB of table providers, and the error classes a
 * request callback receives. Shapes follow node_modules/net-snmp/index.js and its README.
 */
declare module 'net-snmp' {
  import type { Socket, SocketType } from 'node:dgram';

  export const Version1: 0;
  export const Version2c: 1;

  /** ASN.1 / SMI tags of varbind values, as found in `Varbind.type`. */
  export const ObjectType: {
    readonly Boolean: 1;
    readonly Integer: 2;
    readonly Integer32: 2;
    readonly BitString: 3;
    readonly OctetString: 4;
    readonly Null: 5;
    readonly OID: 6;
    readonly IpAddress: 64;
    readonly Counter: 65;
    readonly Counter32: 65;
    readonly Gauge: 66;
    readonly Gauge32: 66;
    readonly Unsigned32: 66;
    readonly TimeTicks: 67;
    readonly Opaque: 68;
    readonly Counter64: 70;
    readonly NoSuchObject: 128;
    readonly NoSuchInstance: 129;
    readonly EndOfMibView: 130;
  };

  /**
   * One name/value pair of a PDU. `value` is a number for Integer, Counter32, Gauge32 and
   * TimeTicks; a Buffer for OctetString, Opaque and Counter64; a dotted string for OID and
   * IpAddress; null for Null and the v2c exceptions (NoSuchObject, NoSuchInstance, EndOfMibView).
   */
  export interface Varbind {
    oid: string;
    type: number;
    value: number | string | boolean | Buffer | null;
  }

  /** A module shaped like node:dgram; lets the caller see the sockets net-snmp opens. */
  export interface DgramModule {
    createSocket(type: SocketType): Socket;
  }

  export interface SessionOptions {
    /** Agent UDP port (default 161). */
    port?: number;
    /** Re-sends of an unanswered request (default 1). */
    retries?: number;
    /** Milliseconds to wait for a reply before re-sending or failing (default 5000). */
    timeout?: number;
    backoff?: number;
    transport?: 'udp4' | 'udp6';
    version?: typeof Version1 | typeof Version2c;
    backwardsGetNexts?: boolean;
    reportOidMismatchErrors?: boolean;
    idBitsSize?: 16 | 32;
    dgramModule?: DgramModule;
  }

  /** Node-style completion of a request: an Error subclass below, or null and the reply's varbinds. */
  export type ResponseCallback<T> = (error: Error | null, varbinds?: T) => void;

  export interface Session {
    /** One GetRequest; varbinds[i] answers oids[i] (in v2c possibly as an exception varbind). */
    get(oids: string[], callback: ResponseCallback<Varbind[]>): Session;
    /**
     * One GetBulkRequest. The first nonRepeaters entries are single varbinds; each following
     * entry is the array of up to maxRepetitions successors of the corresponding repeater OID.
     */
    getBulk(
      oids: string[],
      nonRepeaters: number,
      maxRepetitions: number,
      callback: ResponseCallback<Array<Varbind | Varbind[]>>,
    ): Session;
    /** Closes the socket; every outstanding request fails with "Socket forcibly closed". */
    close(): Session;
    /** A datagram that does not decode as SNMP arrives here (no request is failed by it). */
    on(event: 'error', listener: (error: Error) => void): Session;
    on(event: 'close', listener: () => void): Session;
  }

  export function createSession(target: string, community: string, options?: SessionOptions): Session;

  export function isVarbindError(varbind: Varbind): boolean;

  /** The reply carried a non-zero error-status; `status` is its ErrorStatus value. */
  export class RequestFailedError extends Error {
    status: number;
  }
  /** The reply decoded but does not answer the request (version, community, OID count, PDU type). */
  export class ResponseInvalidError extends Error {
    code: number;
  }
  export class RequestTimedOutError extends Error {}
  export class RequestInvalidError extends Error {}

  // ------------------------------------------------------------------ agent

  export const MibProviderType: { readonly Scalar: 1; readonly Table: 2 };

  export const MaxAccess: {
    readonly 'not-accessible': 0;
    readonly 'accessible-for-notify': 1;
    readonly 'read-only': 2;
    readonly 'read-write': 3;
    readonly 'read-create': 4;
  };

  export interface TableColumn {
    number: number;
    name: string;
    type: number;
    maxAccess: number;
  }

  export interface TableIndexEntry {
    columnName: string;
    /** Name of the provider whose table holds the index column, when it is not this one. */
    foreign?: string;
  }

  export interface TableProvider {
    name: string;
    type: typeof MibProviderType.Table;
    /** OID of the table's entry node (the table OID plus ".1"). */
    oid: string;
    maxAccess: number;
    tableColumns: TableColumn[];
    tableIndex: TableIndexEntry[];
  }

  export type CellValue = number | string | Buffer;

  export interface Mib {
    registerProvider(provider: TableProvider): void;
    /** Values in column order, preceded by the values of foreign index columns. */
    addTableRow(table: string, row: CellValue[]): void;
    /** rowIndex: the index values of the row, foreign ones first. Throws TypeError on a value of the wrong type. */
    setTableSingleCell(table: string, columnNumber: number, rowIndex: number[], value: CellValue): void;
  }

  export interface Authorizer {
    addCommunity(community: string): void;
  }

  export interface AgentOptions {
    port?: number;
    address?: string | null;
    transport?: 'udp4' | 'udp6';
    disableAuthorization?: boolean;
    dgramModule?: DgramModule;
  }

  export interface Agent {
    getMib(): Mib;
    getAuthorizer(): Authorizer;
    /** Closes the listening sockets; callback runs once per socket after it closed. */
    close(callback?: (socket: { address: string; family: string; port: number }) => void): void;
  }

  /**
   * Starts an agent listening at once. Errors while serving (a request with an unknown
   * community, an undecodable datagram, a socket error) go to callback; nothing is thrown.
   */
  export function createAgent(options: AgentOptions, callback: (error: Error | null) => void): Agent;
}
