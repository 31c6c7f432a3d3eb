import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import {
  FIRST_BYTES_TIMEOUT_MS,
  IDLE_TIMEOUT_MS,
  SyslogIntake,
  type SyslogIntakeOptions,
} from '../../../src/gateway/journal/syslog-intake.ts';
import { TunnelJournal } from '../../../src/gateway/journal/tunnel-journal.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import { deferredTeardown } from '../../support/teardown.ts';

const defer = deferredTeardown();

const msg = (text: string, extra = '-') =>
  `<134>1 2026-01-05T09:30:00.250+01:00 mfp-3f printer 77 CONN ${extra} ${text}`;
const counted = (m: string) => `${Buffer.byteLength(m)} ${m}`;

/** A syslog intake on loopback feeding a journal; the rate limiter's clock moves only when told. */
async function startIntake(overrides: Partial<SyslogIntakeOptions> = {}) {
  const clock = new ManualClock();
  const journal = new TunnelJournal({
    file: ':memory:',
    clock: new ManualClock(),
    retention: { maxAgeMs: 86_400_000, maxTunnelRecords: 1000, maxDeviceLogs: 1000 },
    onFlushError: (err) => {
      throw err;
    },
  });
  defer(() => journal.close());
  let stored = 0;
  const intake = new SyslogIntake({
    clock,
    logger: silentLogger(),
    udp: { host: '127.0.0.1', port: 0 },
    tcp: { host: '127.0.0.1', port: 0 },
    maxMessageBytes: 1024,
    maxConnections: 8,
    rateLimit: { perSecond: 1000, burst: 1000, maxSources: 16 },
    allowFrom: [],
    onEntry: (entry) => {
      journal.recordDeviceLog(entry);
      stored++;
    },
    ...overrides,
  });
  const addresses = await intake.start();
  defer(() => intake.stop());
  const udpPort = addresses.udp?.port ?? 0;
  const tcpPort = addresses.tcp?.port ?? 0;
  const sender = createSocket('udp4');
  defer(() => new Promise<void>((resolve) => sender.close(() => resolve())));
  return {
    clock,
    journal,
    intake,
    stored: () => stored,
    messages: () =>
      journal
        .deviceLogs({ limit: 1000 })
        .map((l) => l.message)
        .reverse(),
    udp: (payload: string | Buffer) =>
      new Promise<void>((resolve, reject) =>
        sender.send(payload, udpPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
      ),
    tcp: async (): Promise<Socket> => {
      const socket = connect({ host: '127.0.0.1', port: tcpPort });
      defer(() => socket.destroy());
      await once(socket, 'connect');
      return socket;
    },
  };
}

const write = (socket: Socket, data: string) =>
  new Promise<void>((resolve, reject) => socket.write(data, (err) => (err ? reject(err) : resolve())));

describe('SyslogIntake over real sockets', () => {
  it('stores UDP datagrams with every field, and a trailing LF is not part of the message', async () => {
    const s = await startIntake();
    await s.udp(msg('job started', '[job@32473 jobId="job-7" pages="3"]'));
    await s.udp(`${msg('job done')}\n`);
    await vi.waitFor(() => expect(s.stored()).toBe(2));
    const [done, started] = s.journal.deviceLogs({ device: '127.0.0.1' });
    expect(done?.message).toBe('job done');
    expect(started).toMatchObject({
      source: '127.0.0.1',
      transport: 'udp',
      jobId: 'job-7',
      facility: 16,
      severity: 6,
      reportedAt: Date.UTC(2026, 0, 5, 8, 30, 0, 250),
      hostname: 'mfp-3f',
      appName: 'printer',
      procId: '77',
      msgId: 'CONN',
      structuredData: [
        {
          id: 'job@32473',
          params: [
            { name: 'jobId', value: 'job-7' },
            { name: 'pages', value: '3' },
          ],
        },
      ],
      message: 'job started',
    });
    expect(s.journal.deviceLogs({ jobId: 'job-7' })).toHaveLength(1);
  });

  it('reassembles TCP octet-counted messages split across chunks and several in one chunk', async () => {
    const s = await startIntake();
    const socket = await s.tcp();
    const b = counted(msg('second'));
    // Chunk 1: a whole message and the first part of the next. Once the first is stored, the
    // intake has read chunk 1 and holds half a message; chunk 2 finishes it and brings two more.
    await write(socket, counted(msg('first')) + b.slice(0, 20));
    await vi.waitFor(() => expect(s.stored()).toBe(1));
    await write(socket, b.slice(20) + counted(msg('third')) + counted(msg('fourth')));
    await vi.waitFor(() => expect(s.stored()).toBe(4));
    expect(s.messages()).toEqual(['first', 'second', 'third', 'fourth']);
    expect(s.journal.deviceLogs({ limit: 1 })[0]?.transport).toBe('tcp');
  });

  it('accepts LF-framed TCP (non-transparent framing) the same way, CR LF included', async () => {
    const s = await startIntake();
    const socket = await s.tcp();
    const b = `${msg('second')}\r\n`;
    await write(socket, `${msg('first')}\n${b.slice(0, 15)}`);
    await vi.waitFor(() => expect(s.stored()).toBe(1));
    await write(socket, `${b.slice(15)}${msg('third')}\n${msg('last, no LF')}`);
    await vi.waitFor(() => expect(s.stored()).toBe(3));
    socket.end();
    await vi.waitFor(() => expect(s.stored()).toBe(4));
    expect(s.messages()).toEqual(['first', 'second', 'third', 'last, no LF']);
  });

  it('counts and drops malformed messages and keeps serving', async () => {
    const s = await startIntake();
    await s.udp('<34>Oct 11 22:14:15 mymachine su: BSD syslog');
    await s.udp('<34>1 2026-13-01T00:00:00Z - - - - - bad month');
    await s.udp(Buffer.alloc(2000, 0x41));
    const socket = await s.tcp();
    await write(socket, counted('<999>1 - - - - - - bad pri'));
    await vi.waitFor(() =>
      expect(s.intake.stats().malformed).toEqual({
        MFP_SYSLOG_ERR_BAD_VERSION: 1,
        MFP_SYSLOG_ERR_BAD_TIMESTAMP: 1,
        MFP_SYSLOG_ERR_FRAME_TOO_LARGE: 1,
        MFP_SYSLOG_ERR_BAD_PRI: 1,
      }),
    );
    await write(socket, counted(msg('still here')));
    await s.udp(msg('udp too'));
    await vi.waitFor(() => expect(s.stored()).toBe(2));
    expect(s.messages().sort()).toEqual(['still here', 'udp too']);
  });

  it('closes a TCP connection whose framing is unrecoverable, and no other', async () => {
    const s = await startIntake();
    const good = await s.tcp();
    const bad = await s.tcp();
    const closed = once(bad, 'close');
    await write(bad, 'GET / HTTP/1.1\r\n\r\n');
    await closed;
    expect(s.intake.stats().malformed).toEqual({ MFP_SYSLOG_ERR_BAD_FRAME: 1 });
    await write(good, counted(msg('unaffected')));
    await vi.waitFor(() => expect(s.messages()).toEqual(['unaffected']));
  });

  it('drops UDP datagrams over a sender’s burst and counts them', async () => {
    const s = await startIntake({ rateLimit: { perSecond: 1, burst: 3, maxSources: 16 } });
    for (let i = 1; i <= 5; i++) await s.udp(msg(`m${i}`));
    await vi.waitFor(() => expect(s.stored() + s.intake.stats().rateLimited).toBe(5));
    expect(s.intake.stats()).toMatchObject({ accepted: 3, rateLimited: 2 });
    s.clock.advance(1000);
    await s.udp(msg('after a second'));
    await vi.waitFor(() => expect(s.stored()).toBe(4));
  });

  it('slows a TCP sender over its rate down instead of dropping: one message per token', async () => {
    const s = await startIntake({ rateLimit: { perSecond: 1, burst: 2, maxSources: 16 } });
    const socket = await s.tcp();
    const t0 = s.clock.now();
    await write(socket, [1, 2, 3, 4, 5].map((i) => counted(msg(`m${i}`))).join(''));
    while (s.stored() < 5) {
      // Two pending timers: the connection's idle timeout, and the session waiting for the sender's next token.
      await vi.waitFor(() => expect(s.clock.pendingCount()).toBe(2));
      const before = s.stored();
      s.clock.advance(1000);
      expect(s.stored()).toBe(before + 1);
    }
    expect(s.clock.now() - t0).toBe(3000);
    expect(s.messages()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(s.intake.stats().rateLimited).toBe(0);
  });

  it('ignores senders outside allowFrom on both transports', async () => {
    const s = await startIntake({ allowFrom: ['192.168.0.0/16'] });
    await s.udp(msg('not from the LAN range'));
    const socket = await s.tcp();
    const closed = once(socket, 'close');
    socket.write(counted(msg('nor this')));
    await closed;
    await vi.waitFor(() => expect(s.intake.stats().notAllowed).toBe(2));
    expect(s.stored()).toBe(0);
  });

  it('takes what util-linux logger sends over UDP, octet-counted TCP and LF-framed TCP', async () => {
    const s = await startIntake();
    const { udp, tcp } = s.intake.addresses();
    const logger = (port: number | undefined, ...args: string[]) =>
      promisify(execFile)('logger', [
        '--rfc5424',
        '-n',
        '127.0.0.1',
        '-P',
        String(port),
        '-t',
        'printer',
        ...args,
      ]);
    await logger(udp?.port, '-d', '--sd-id', 'job@32473', '--sd-param', 'jobId="j-1"', 'over udp');
    await logger(tcp?.port, '-T', '--octet-count', 'octet counted');
    await logger(tcp?.port, '-T', 'lf framed');
    await vi.waitFor(() => expect(s.stored()).toBe(3));
    expect(s.messages().sort()).toEqual(['lf framed', 'octet counted', 'over udp']);
    expect(s.journal.deviceLogs({ jobId: 'j-1' })).toMatchObject([{ appName: 'printer', transport: 'udp' }]);
  });

  it('rejects start when a port is taken, leaving nothing bound', async () => {
    const s = await startIntake();
    const taken = s.intake.addresses().tcp?.port ?? 0;
    const second = new SyslogIntake({
      clock: new ManualClock(),
      logger: silentLogger(),
      udp: { host: '127.0.0.1', port: 0 },
      tcp: { host: '127.0.0.1', port: taken },
      maxMessageBytes: 1024,
      maxConnections: 8,
      rateLimit: { perSecond: 1, burst: 1, maxSources: 1 },
      allowFrom: [],
      onEntry: () => {},
    });
    await expect(second.start()).rejects.toThrow(`cannot listen for syslog on TCP 127.0.0.1:${taken}`);
    expect(second.addresses()).toEqual({ udp: null, tcp: null });
  });
});

describe('SyslogIntake: silent TCP sockets (issue 13, finding 9)', () => {
  it('lets a sender in past maxConnections by closing the longest-silent connection', async () => {
    const s = await startIntake({ maxConnections: 4 });
    const silent: Socket[] = [];
    for (let i = 0; i < 4; i++) silent.push(await s.tcp());
    const closed = once(silent[0] as Socket, 'close');
    const sender = await s.tcp();
    await write(sender, counted(msg('got through')));
    await vi.waitFor(() => expect(s.messages()).toEqual(['got through']));
    await closed;
  });

  it('closes a socket that sends nothing, and one that falls silent', async () => {
    const s = await startIntake();
    const mute = await s.tcp();
    const talker = await s.tcp();
    await write(talker, counted(msg('once')));
    await vi.waitFor(() => expect(s.stored()).toBe(1));
    const muteClosed = once(mute, 'close');
    s.clock.advance(FIRST_BYTES_TIMEOUT_MS);
    await muteClosed;
    expect(talker.destroyed).toBe(false);
    const talkerClosed = once(talker, 'close');
    s.clock.advance(IDLE_TIMEOUT_MS);
    await talkerClosed;
  });
});
