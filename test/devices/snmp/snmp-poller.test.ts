import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { SystemClock } from '../../../src/clock/system-clock.ts';
import { type DeviceError, isDeviceError } from '../../../src/devices/device-error.ts';
import { PjlDriver } from '../../../src/devices/pjl/pjl-driver.ts';
import { TcpLink } from '../../../src/devices/pjl/tcp-link.ts';
import { PRINTER_MIB_OIDS } from '../../../src/devices/snmp/printer-mib.ts';
import {
  type SnmpDeviceStatus,
  SnmpPoller,
  type SnmpPollerOptions,
} from '../../../src/devices/snmp/snmp-poller.ts';
import { SimMfp } from '../../../src/sim/mfp/sim-mfp.ts';
import { SimSnmpAgent } from '../../../src/sim/mfp/snmp-agent.ts';
import { deferredTeardown } from '../../support/teardown.ts';
import { getResponse, intValue, type RawRequest, startScriptedAgent, Tag } from './scripted-agent.ts';

const INTERVAL = 60_000;
const TIMEOUT = 2_000;
const RETRIES = 2;
const COMMUNITY = 'office-ro';

/** Values in arrival order; next() waits for the next one not yet taken. */
function queue<T>(): { push(v: T): void; next(): Promise<T>; readonly waiting: number } {
  const items: T[] = [];
  const waiters: Array<(v: T) => void> = [];
  return {
    push(v) {
      const w = waiters.shift();
      if (w) w(v);
      else items.push(v);
    },
    next() {
      if (items.length > 0) return Promise.resolve(items.shift() as T);
      return new Promise((resolve) => waiters.push(resolve));
    },
    /** Values pushed and not yet taken. */
    get waiting() {
      return items.length;
    },
  };
}

const defer = deferredTeardown();

/** A poller on 127.0.0.1 with the test timings, recording what it reports; stopped after the test. */
function makePoller(options: Pick<SnmpPollerOptions, 'port' | 'clock'> & Partial<SnmpPollerOptions>) {
  const statuses = queue<SnmpDeviceStatus>();
  const errors = queue<DeviceError>();
  const p = new SnmpPoller({
    id: 'mfp-1',
    host: '127.0.0.1',
    intervalMs: INTERVAL,
    timeoutMs: TIMEOUT,
    retries: RETRIES,
    onStatus: (s) => statuses.push(s),
    onError: (e) => errors.push(e),
    ...options,
  });
  defer(() => p.stop());
  return { p, statuses, errors };
}

describe('SNMP poller against the sim MFP agent over UDP', () => {
  let sim: SimMfp;
  let agent: SimSnmpAgent;
  let clock: ManualClock;
  let refusals: ReturnType<typeof queue<Error>>;

  beforeEach(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mfpgw-snmp-'));
    defer(() => rm(dir, { recursive: true, force: true }));
    sim = new SimMfp({ spoolDir: dir, pageCount: 1200, tonerCapacity: 1000, tonerLevel: 500 });
    defer(() => sim.close());
    refusals = queue<Error>();
    agent = new SimSnmpAgent(sim, { community: COMMUNITY, onRequestRefused: (e) => refusals.push(e) });
    await agent.listen();
    defer(() => agent.close());
    clock = new ManualClock();
  });

  const poller = (over: Partial<SnmpPollerOptions> = {}) =>
    makePoller({ port: agent.port, clock, community: COMMUNITY, ...over });

  it('reads state, page meter and supplies with their special values', async () => {
    const { p } = poller();
    const status = await p.poll();
    expect(status).toEqual({
      state: 'idle',
      reasons: [],
      pageCount: 1200,
      supplies: [
        { name: 'Black Toner', level: 500, maxCapacity: 1000, fraction: 0.5 },
        { name: 'Imaging Drum', levelSpecial: 'some-remaining', capacitySpecial: 'unknown' },
      ],
      since: clock.now(),
    });
    expect(p.latest).toEqual(status);
  });

  it('polls on the injected clock: a print raises the page meter and lowers the toner at the next poll', async () => {
    const pjlPort = await sim.listenPjl();
    const { p, statuses } = poller();
    p.start();
    const first = await statuses.next();
    expect(first.pageCount).toBe(1200);

    const realClock = new SystemClock();
    const printer = new PjlDriver({
      id: 'mfp-1',
      link: new TcpLink({ deviceId: 'mfp-1', host: '127.0.0.1', port: pjlPort, clock: realClock }),
      clock: realClock,
    });
    defer(() => printer.close());
    const printed = await printer.print({
      jobId: 'job-1',
      document: Readable.from([Buffer.from('one\ftwo\fthree')]),
    });
    expect(printed.pages).toBe(3);

    clock.advance(INTERVAL - 1);
    expect(p.latest).toBe(first);
    clock.advance(1);
    const second = await statuses.next();
    expect(second.pageCount).toBe(1203);
    expect(second.supplies?.[0]).toEqual({
      name: 'Black Toner',
      level: 497,
      maxCapacity: 1000,
      fraction: 0.497,
    });
    expect(second.since).toBe(first.since);
  });

  it('paper out reads as stopped with media-empty, offline as stopped with offline, and both clear', async () => {
    const { p } = poller();
    expect((await p.poll()).state).toBe('idle');

    clock.advance(5_000);
    sim.setFault('paper-out');
    const out = await p.poll();
    expect(out).toMatchObject({ state: 'stopped', reasons: ['media-empty'], since: clock.now() });

    sim.setFault('offline');
    expect(await p.poll()).toMatchObject({ state: 'stopped', reasons: ['offline'], since: out.since });

    clock.advance(5_000);
    sim.setFault(undefined);
    expect(await p.poll()).toMatchObject({ state: 'idle', reasons: [], since: clock.now() });
  });

  it('a wrong community gets no answer: each try times out on the clock, then offline with what to check', async () => {
    const { p } = poller({ community: 'public' });
    const result = p.poll();
    for (let attempt = 1; attempt <= RETRIES + 1; attempt++) {
      expect((await refusals.next()).message).toContain('public');
      clock.advance(TIMEOUT);
    }
    const status = await result;
    expect(status).toMatchObject({ state: 'offline', reasons: ['offline'], since: clock.now() });
    expect(status.message).toContain(`no SNMP reply from 127.0.0.1:${agent.port}`);
    expect(status.message).toContain('after 3 attempt(s) of 2000 ms');
    expect(status.message).toContain('community string');
  });

  it('a stopped agent makes the device offline since the first silent poll, and online when it returns', async () => {
    const { p, statuses } = poller();
    p.start();
    expect((await statuses.next()).state).toBe('idle');
    const port = agent.port;
    await agent.close();

    clock.advance(INTERVAL + TIMEOUT * (RETRIES + 1));
    const down = await statuses.next();
    expect(down).toMatchObject({ state: 'offline', since: clock.now() });
    expect(down.message).toContain('no SNMP reply');

    clock.advance(INTERVAL + TIMEOUT * (RETRIES + 1));
    expect(await statuses.next()).toMatchObject({ state: 'offline', since: down.since });

    agent = new SimSnmpAgent(sim, { community: COMMUNITY, port });
    await agent.listen();
    clock.advance(INTERVAL);
    expect(await statuses.next()).toMatchObject({ state: 'idle', pageCount: 1200, since: clock.now() });
  });

  it('stop() abandons a poll in flight: no status is reported and no timer is left', async () => {
    const { p, statuses } = poller({ community: 'public' });
    p.start();
    await refusals.next();
    await p.stop();
    // The abandoned poll has settled by now, so a status it reported would be queued already.
    expect(statuses.waiting).toBe(0);
    expect(clock.pendingCount()).toBe(0);
  });

  it('snmpget sees the same values the poller reports', async () => {
    sim.setFault('paper-out');
    const { p } = poller();
    const status = await p.poll();
    const oids = [
      `${PRINTER_MIB_OIDS.hrDeviceStatus}.1`,
      `${PRINTER_MIB_OIDS.hrPrinterStatus}.1`,
      `${PRINTER_MIB_OIDS.hrPrinterDetectedErrorState}.1`,
      `${PRINTER_MIB_OIDS.prtMarkerLifeCount}.1.1`,
      `${PRINTER_MIB_OIDS.prtMarkerSuppliesLevel}.1.1`,
      `${PRINTER_MIB_OIDS.prtMarkerSuppliesMaxCapacity}.1.1`,
    ];
    const { stdout } = await promisify(execFile)('snmpget', [
      '-v2c',
      '-c',
      COMMUNITY,
      '-Oqv',
      `127.0.0.1:${agent.port}`,
      ...oids,
    ]);
    const [deviceStatus, printerStatus, errorState, lifeCount, level, capacity] = stdout.trim().split('\n');
    expect(deviceStatus).toBe('5');
    expect(printerStatus).toBe('1');
    expect(errorState?.replace(/"/g, '').trim()).toBe('40 00');
    expect(status).toMatchObject({ state: 'stopped', reasons: ['media-empty'] });
    expect(Number(lifeCount)).toBe(status.pageCount);
    expect(Number(level)).toBe(status.supplies?.[0]?.level);
    expect(Number(capacity)).toBe(status.supplies?.[0]?.maxCapacity);
  });
});

describe('SNMP poller against agents that answer garbage', () => {
  const clock = new ManualClock();
  const good = (req: RawRequest) =>
    getResponse(req, [
      { oid: req.oids[0] as string, tag: Tag.integer, value: intValue(2) },
      { oid: req.oids[1] as string, tag: Tag.integer, value: intValue(3) },
      { oid: req.oids[2] as string, tag: Tag.octetString, value: Buffer.from([0, 0]) },
      { oid: req.oids[3] as string, tag: Tag.counter32, value: intValue(10) },
    ]);

  async function pollAgainst(answer: (req: RawRequest) => Buffer | undefined) {
    const raw = await startScriptedAgent(answer);
    defer(() => raw.close());
    const { p } = makePoller({ port: raw.port, clock });
    return {
      p,
      raw,
      error: await p.poll().then(
        () => undefined,
        (e: unknown) => e,
      ),
    };
  }

  it('bytes that are not SNMP: a malformed-reply error at once, not a crash and not a timeout', async () => {
    const { error } = await pollAgainst(() => Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
    expect(isDeviceError(error, 'MFP_DEV_ERR_MALFORMED_REPLY')).toBe(true);
    expect((error as Error).message).toContain('not SNMP');
  });

  it('a value of the wrong type names the object and the types', async () => {
    const { error } = await pollAgainst((req) =>
      getResponse(req, [
        { oid: req.oids[0] as string, tag: Tag.integer, value: intValue(2) },
        { oid: req.oids[1] as string, tag: Tag.octetString, value: Buffer.from('idle') },
        { oid: req.oids[2] as string, tag: Tag.octetString, value: Buffer.from([0]) },
        { oid: req.oids[3] as string, tag: Tag.counter32, value: intValue(10) },
      ]),
    );
    expect(isDeviceError(error, 'MFP_DEV_ERR_MALFORMED_REPLY')).toBe(true);
    expect((error as Error).message).toContain(
      'hrPrinterStatus (1.3.6.1.2.1.25.3.5.1.1.1) came as OCTET STRING, not INTEGER',
    );
  });

  it('objects the agent does not have (noSuchObject) are a malformed reply that says so', async () => {
    const { error } = await pollAgainst((req) =>
      getResponse(
        req,
        req.oids.map((oid) => ({ oid, tag: Tag.noSuchObject, value: Buffer.alloc(0) })),
      ),
    );
    expect(isDeviceError(error, 'MFP_DEV_ERR_MALFORMED_REPLY')).toBe(true);
    expect((error as Error).message).toContain('has no hrDeviceStatus');
  });

  it('a reply with fewer varbinds than asked is a malformed reply', async () => {
    const { error } = await pollAgainst((req) =>
      getResponse(req, [{ oid: req.oids[0] as string, tag: Tag.integer, value: intValue(2) }]),
    );
    expect(isDeviceError(error, 'MFP_DEV_ERR_MALFORMED_REPLY')).toBe(true);
  });

  it('a supplies walk that goes backwards is a malformed reply, not an endless walk', async () => {
    const { error, raw } = await pollAgainst((req) =>
      req.pduType === 0xa0
        ? good(req)
        : getResponse(req, [
            {
              oid: `${PRINTER_MIB_OIDS.prtMarkerSuppliesDescription}.1.2`,
              tag: Tag.octetString,
              value: Buffer.from('A'),
            },
            {
              oid: `${PRINTER_MIB_OIDS.prtMarkerSuppliesDescription}.1.1`,
              tag: Tag.octetString,
              value: Buffer.from('B'),
            },
          ]),
    );
    expect(isDeviceError(error, 'MFP_DEV_ERR_MALFORMED_REPLY')).toBe(true);
    expect((error as Error).message).toContain('walked backwards');
    expect(raw.requests).toHaveLength(2);
  });

  it('a supply level outside the Printer MIB range is a malformed reply', async () => {
    const column = (base: string, tag: number, value: Buffer) => (req: RawRequest) =>
      getResponse(req, [
        { oid: `${base}.1.1`, tag, value },
        { oid: '1.3.6.1.2.1.43.99', tag: Tag.integer, value: intValue(0) },
      ]);
    const answers: Record<string, (req: RawRequest) => Buffer> = {
      [`${PRINTER_MIB_OIDS.prtMarkerSuppliesDescription}.1`]: column(
        PRINTER_MIB_OIDS.prtMarkerSuppliesDescription,
        Tag.octetString,
        Buffer.from('Black Toner\0\0'),
      ),
      [`${PRINTER_MIB_OIDS.prtMarkerSuppliesMaxCapacity}.1`]: column(
        PRINTER_MIB_OIDS.prtMarkerSuppliesMaxCapacity,
        Tag.integer,
        intValue(1000),
      ),
      [`${PRINTER_MIB_OIDS.prtMarkerSuppliesLevel}.1`]: column(
        PRINTER_MIB_OIDS.prtMarkerSuppliesLevel,
        Tag.integer,
        intValue(-7),
      ),
    };
    const { error } = await pollAgainst((req) =>
      req.pduType === 0xa0 ? good(req) : answers[req.oids[0] as string]?.(req),
    );
    expect(isDeviceError(error, 'MFP_DEV_ERR_MALFORMED_REPLY')).toBe(true);
    expect((error as Error).message).toContain('supply 1 ("Black Toner") reports level -7 of 1000');
  });

  it('on a schedule, garbage goes to onError and polling goes on', async () => {
    const raw = await startScriptedAgent(() => Buffer.from([0x30, 0x03, 0x02, 0x01]));
    defer(() => raw.close());
    const { p, errors } = makePoller({ port: raw.port, clock });
    p.start();
    expect((await errors.next()).code).toBe('MFP_DEV_ERR_MALFORMED_REPLY');
    clock.advance(INTERVAL);
    expect((await errors.next()).code).toBe('MFP_DEV_ERR_MALFORMED_REPLY');
    expect(raw.requests).toHaveLength(2);
    expect(p.latest).toBeUndefined();
  });
});
