import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handoverTrailer, UEL } from '../../../src/devices/pjl/pjl-commands.ts';
import { parseSyslog, type SyslogMessage } from '../../../src/gateway/journal/syslog-parser.ts';
import { type DirectTransfer, SimMfp, type SimMfpOptions } from '../../../src/sim/mfp/sim-mfp.ts';
import { FakeCloud, StreamCloud } from '../../support/direct-cloud.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Random bytes with neither ESC (so no UEL) nor form feed, so the page count is up to the test. */
function noise(size: number): Buffer {
  const bytes = randomBytes(size);
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x1b || bytes[i] === 0x0c) bytes[i] = 0x20;
  return bytes;
}

/** A three-page document of about 600 KB: pages end at form feeds. */
function threePages(): Buffer {
  return Buffer.concat([
    noise(200_000),
    Buffer.from('\f'),
    noise(200_000),
    Buffer.from('\f'),
    noise(200_000),
  ]);
}

function header(name: string): Buffer {
  return Buffer.concat([
    UEL,
    Buffer.from(
      `@PJL\r\n@PJL USTATUS JOB=ON\r\n@PJL JOB NAME="${name}"\r\n@PJL ENTER LANGUAGE=PCL\r\n`,
      'latin1',
    ),
  ]);
}

/** The gateway's end of a PJL channel: writes bytes, collects the printer's form-feed-ended replies. */
class PjlClient {
  readonly replies: string[] = [];
  private pending = '';
  private waiters: Array<{ match: (r: string) => boolean; resolve: (r: string) => void }> = [];
  private readonly socket: Socket;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.pending += d.toString('latin1');
      for (let ff = this.pending.indexOf('\f'); ff !== -1; ff = this.pending.indexOf('\f')) {
        const reply = this.pending.slice(0, ff);
        this.pending = this.pending.slice(ff + 1);
        this.replies.push(reply);
        for (const w of [...this.waiters]) {
          if (w.match(reply)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(reply);
          }
        }
      }
    });
  }

  static async open(port: number): Promise<PjlClient> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new PjlClient(socket);
  }

  write(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.write(bytes, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** The first reply (past or future) that includes text. */
  reply(text: string): Promise<string> {
    const found = this.replies.find((r) => r.includes(text));
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ match: (r) => r.includes(text), resolve }));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Resolves with the next direct transfer of the sim to settle (complete or failed). */
function settled(sim: SimMfp): Promise<DirectTransfer> {
  return new Promise((resolve) => {
    const off = sim.onDirectTransfer((t) => {
      if (t.outcome === 'connecting') return;
      off();
      resolve(t);
    });
  });
}

describe('sim MFP direct transfers (tunnel reduction)', () => {
  let dir: string;
  let sim: SimMfp;
  let cloud: FakeCloud;
  let client: PjlClient;
  let cloudUrl: string;
  const doc = threePages();
  const first = 150_000;
  /** A direct transfer that took the whole rest in one go and was reported. */
  const wholeAtOnce = {
    offset: first,
    bytes: doc.length,
    outcome: 'complete',
    attempts: 1,
    pages: 3,
    reported: true,
  };

  async function start(options: Omit<SimMfpOptions, 'spoolDir'>): Promise<void> {
    sim = new SimMfp({ spoolDir: dir, ...options });
    client = await PjlClient.open(await sim.listenPjl());
  }

  /** The gateway's side: the job header and the first part through the tunnel, then the handover. */
  async function handOver(name: string, token: string, offset = first): Promise<void> {
    await client.write(Buffer.concat([header(name), doc.subarray(0, first)]));
    await client.write(handoverTrailer(name, cloudUrl, token, offset));
  }

  /** Hands a job over and resolves with its direct transfer once that has settled. */
  async function directTransfer(name: string, token: string, offset = first): Promise<DirectTransfer> {
    const done = settled(sim);
    await handOver(name, token, offset);
    return done;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mfpgw-direct-'));
    cloud = new FakeCloud(doc);
    cloudUrl = await cloud.listen();
  });

  afterEach(async () => {
    client?.close();
    await sim?.close();
    await cloud.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('takes the job over, fetches the rest from its own count and stores the whole document once', async () => {
    await start({ directCapable: true });
    const transfer = await directTransfer('job-1', 'tok-1');

    const direct = await client.reply('DIRECT');
    expect(direct).toBe(`@PJL USTATUS JOB\r\nDIRECT\r\nNAME="job-1"\r\nOFFSET=${first}\r\n`);

    expect(cloud.gets).toEqual([
      {
        method: 'GET',
        url: `/direct/v1/jobs/job-1/document?offset=${first}`,
        authorization: 'Bearer tok-1',
        body: '',
      },
    ]);
    expect(sim.jobs).toHaveLength(1);
    const stored = await readFile(sim.jobs[0]?.path as string);
    expect(stored.length).toBe(doc.length);
    expect(sha256(stored)).toBe(sha256(doc));
    expect(cloud.posts).toHaveLength(1);
    expect(cloud.posts[0]?.url).toBe('/direct/v1/jobs/job-1/complete');
    expect(cloud.posts[0]?.authorization).toBe('Bearer tok-1');
    expect(JSON.parse(cloud.posts[0]?.body ?? '')).toEqual({
      bytes: doc.length,
      sha256: sha256(doc),
      pages: 3,
    });
    expect(transfer).toMatchObject({ ...wholeAtOnce, name: 'job-1', announcedOffset: first });
    expect(sim.directTransfers).toEqual([transfer]);
    expect(sim.pageCounter).toBe(3);

    // A stray EOJ for the handed-over job must not end (or store) it a second time.
    await client.write(Buffer.concat([UEL, Buffer.from('@PJL EOJ NAME="job-1"\r\n@PJL INFO ID\r\n'), UEL]));
    await client.reply('@PJL INFO ID');
    expect(client.replies.some((r) => r.includes('END'))).toBe(false);
    expect(sim.jobs).toHaveLength(1);
    expect(await readdir(dir)).toHaveLength(1);
  });

  it('trusts its own byte count when the gateway names another offset', async () => {
    await start({ directCapable: true });
    const transfer = await directTransfer('job-2', 'tok-2', first + 1000);

    expect(await client.reply('DIRECT')).toContain(`OFFSET=${first}\r\n`);
    expect(transfer).toMatchObject({ offset: first, announcedOffset: first + 1000, outcome: 'complete' });
    expect(cloud.gets[0]?.url).toBe(`/direct/v1/jobs/job-2/document?offset=${first}`);
    expect(sha256(await readFile(sim.jobs[0]?.path as string))).toBe(sha256(doc));
  });

  it('resumes a response dropped mid-body from the bytes it actually holds', async () => {
    await start({ directCapable: true });
    const part = 100_000;
    cloud.onGet = (res, from, attempt) => {
      if (attempt > 1) {
        cloud.serve(res, from).end(doc.subarray(from));
        return;
      }
      // Drop the line once the sim has stored `part` bytes of the response, not before.
      cloud.serve(res, from).write(doc.subarray(from, from + part));
      const off = sim.onChange(() => {
        if (sim.documentBytesReceived < from + part) return;
        off();
        res.socket?.destroy();
      });
    };
    const transfer = await directTransfer('job-3', 'tok-3');
    expect(cloud.gets.map((g) => g.url)).toEqual([
      `/direct/v1/jobs/job-3/document?offset=${first}`,
      `/direct/v1/jobs/job-3/document?offset=${first + part}`,
    ]);
    expect(cloud.gets.every((g) => g.authorization === 'Bearer tok-3')).toBe(true);
    expect(transfer).toMatchObject({ outcome: 'complete', attempts: 2, bytes: doc.length });
    expect(sim.jobs).toHaveLength(1);
    expect(sha256(await readFile(sim.jobs[0]?.path as string))).toBe(sha256(doc));
    expect(JSON.parse(cloud.posts[0]?.body ?? '')).toEqual({
      bytes: doc.length,
      sha256: sha256(doc),
      pages: 3,
    });
  });

  it('gives up after five failed attempts, discards the partial job and reports the error', async () => {
    await start({ directCapable: true });
    cloud.onGet = (res) => res.writeHead(503).end();
    const transfer = await directTransfer('job-4', 'tok-4');
    expect(cloud.gets).toHaveLength(5);
    expect(transfer).toMatchObject({ outcome: 'failed', attempts: 5, bytes: first, reported: true });
    expect(transfer.error).toMatch(/gave up after 5 attempts: GET document answered HTTP 503/);
    expect(JSON.parse(cloud.posts[0]?.body ?? '')).toEqual({ error: transfer.error });
    expect(sim.jobs).toHaveLength(0);
    expect(await readdir(dir)).toEqual([]);
  });

  it('takes a 4xx other than 408/429 as final', async () => {
    await start({ directCapable: true });
    cloud.onGet = (res) => res.writeHead(403).end();
    const transfer = await directTransfer('job-5', 'tok-5');
    expect(cloud.gets).toHaveLength(1);
    expect(transfer).toMatchObject({
      outcome: 'failed',
      attempts: 1,
      error: 'GET document answered HTTP 403',
    });
    expect(JSON.parse(cloud.posts[0]?.body ?? '')).toEqual({ error: 'GET document answered HTTP 403' });
    expect(sim.jobs).toHaveLength(0);
  });

  it('refuses when not direct-capable, discards the partial job, and prints the job sent again whole', async () => {
    await start({});
    await handOver('job-6', 'tok-6');

    expect(await client.reply('REFUSED')).toBe('@PJL USTATUS JOB\r\nREFUSED\r\nNAME="job-6"\r\n');
    expect(await readdir(dir)).toEqual([]);
    await client.write(
      Buffer.concat([header('job-6'), doc, UEL, Buffer.from('@PJL EOJ NAME="job-6"\r\n', 'latin1'), UEL]),
    );
    await client.reply('END');
    expect(cloud.requests).toEqual([]);
    expect(sim.directTransfers).toEqual([]);
    expect(sim.jobs).toHaveLength(1);
    expect(sha256(await readFile(sim.jobs[0]?.path as string))).toBe(sha256(doc));
  });

  it('refuses a CONNECT it cannot act on (no token)', async () => {
    await start({ directCapable: true });
    await client.write(Buffer.concat([header('job-7'), doc.subarray(0, first)]));
    await client.write(
      Buffer.concat([
        UEL,
        Buffer.from(`@PJL MFPGW CONNECT NAME="job-7" URL="${cloudUrl}" OFFSET=${first}\r\n`, 'latin1'),
        UEL,
      ]),
    );
    expect(await client.reply('REFUSED')).toContain('NAME="job-7"');
    expect(cloud.requests).toEqual([]);
    expect(sim.jobs).toHaveLength(0);
  });

  it('refuses a CONNECT with a MODE it does not know', async () => {
    await start({ directCapable: true });
    await client.write(Buffer.concat([header('job-7m'), doc.subarray(0, first)]));
    await client.write(
      Buffer.from(
        handoverTrailer('job-7m', cloudUrl, 'tok-7m', first, 'push')
          .toString('latin1')
          .replace('MODE=PUSH', 'MODE=CARRIER'),
        'latin1',
      ),
    );
    expect(await client.reply('REFUSED')).toContain('NAME="job-7m"');
    expect(cloud.requests).toEqual([]);
  });

  describe('connection log', () => {
    let syslog: UdpSocket;
    const messages: SyslogMessage[] = [];
    let arrived: (() => void) | undefined;

    beforeEach(async () => {
      messages.length = 0;
      syslog = createSocket('udp4');
      syslog.on('message', (datagram) => {
        const parsed = parseSyslog(datagram);
        if (parsed instanceof Error) throw parsed;
        messages.push(parsed);
        arrived?.();
      });
      syslog.bind(0, '127.0.0.1');
      await once(syslog, 'listening');
    });

    afterEach(() => syslog.close());

    function received(count: number): Promise<void> {
      return new Promise((resolve) => {
        arrived = () => {
          if (messages.length >= count) resolve();
        };
        arrived();
      });
    }

    it('tells the gateway over syslog when it connects to the cloud and when the job completes', async () => {
      await start({ directCapable: true, syslog: { host: '127.0.0.1', port: syslog.address().port } });
      await directTransfer('job-8', 'tok-8', first + 5);
      await received(2);

      expect(messages.map((m) => [m.facility, m.severity, m.appName, m.procId, m.msgId])).toEqual([
        [16, 6, 'sim-mfp', null, 'direct'],
        [16, 6, 'sim-mfp', null, 'direct'],
      ]);
      expect(messages[0]?.message).toBe(
        `connecting to the cloud directly: job="job-8" offset=${first} bytes=${first} gatewayOffset=${first + 5} url=${cloudUrl} mode=pull`,
      );
      expect(messages[1]?.message).toBe(
        `direct transfer complete: job="job-8" offset=${first} bytes=${doc.length} pages=3 sha256=${sha256(doc)} attempts=1`,
      );
      expect(messages.every((m) => m.timestamp !== null && m.hostname !== null)).toBe(true);
    });

    it('tells the gateway over syslog when a direct transfer fails', async () => {
      await start({ directCapable: true, syslog: { host: '127.0.0.1', port: syslog.address().port } });
      cloud.onGet = (res) => res.writeHead(404).end();
      await directTransfer('job-9', 'tok-9');
      await received(2);

      expect(messages[1]?.message).toBe(
        `direct transfer failed: job="job-9" offset=${first} bytes=${first} attempts=1 error="GET document answered HTTP 404"`,
      );
    });
  });

  describe('push variant (MODE=PUSH)', () => {
    let streamCloud: StreamCloud;
    let streamUrl: string;

    /** Hands a job over in push mode and resolves with its direct transfer once that has settled. */
    async function pushed(name: string, token: string): Promise<DirectTransfer> {
      await start({ directCapable: true });
      const done = settled(sim);
      await client.write(Buffer.concat([header(name), doc.subarray(0, first)]));
      await client.write(handoverTrailer(name, streamUrl, token, first, 'push'));
      return done;
    }

    beforeEach(async () => {
      streamCloud = new StreamCloud(doc);
      streamUrl = await streamCloud.listen();
    });

    afterEach(() => streamCloud.close());

    it('opens the stream from its own count, stores what the cloud pushes and reports over the same socket', async () => {
      const transfer = await pushed('job-p1', 'tok-p1');

      expect(await client.reply('DIRECT')).toContain(`OFFSET=${first}\r\n`);
      expect(streamCloud.connections).toEqual([
        {
          url: `/direct/v1/jobs/job-p1/stream?offset=${first}`,
          authorization: 'Bearer tok-p1',
          from: first,
          messages: [JSON.stringify({ type: 'complete', bytes: doc.length, sha256: sha256(doc), pages: 3 })],
        },
      ]);
      expect(sim.jobs).toHaveLength(1);
      expect(sha256(await readFile(sim.jobs[0]?.path as string))).toBe(sha256(doc));
      expect(transfer).toMatchObject({ ...wholeAtOnce, name: 'job-p1', mode: 'push' });
      expect(sim.directTransfers).toEqual([transfer]);
    });

    it('reconnects from the bytes it holds when the socket drops before end', async () => {
      const part = 64 * 1024 * 2;
      streamCloud.onConnect = (ws, from, attempt) => {
        if (attempt > 1) {
          streamCloud.stream(ws, from);
          return;
        }
        streamCloud.stream(ws, from, from + part);
        const off = sim.onChange(() => {
          if (sim.documentBytesReceived < from + part) return;
          off();
          ws.terminate();
        });
      };
      const transfer = await pushed('job-p2', 'tok-p2');

      expect(streamCloud.connections.map((c) => c.from)).toEqual([first, first + part]);
      expect(transfer).toMatchObject({ mode: 'push', outcome: 'complete', attempts: 2, bytes: doc.length });
      expect(sim.jobs).toHaveLength(1);
      expect(sha256(await readFile(sim.jobs[0]?.path as string))).toBe(sha256(doc));
      expect(streamCloud.reports).toEqual([
        { type: 'complete', bytes: doc.length, sha256: sha256(doc), pages: 3 },
      ]);
    });

    it('gives up after five connections that drop before end, discards the job and tries to report', async () => {
      streamCloud.onConnect = (ws) => ws.terminate();
      const transfer = await pushed('job-p3', 'tok-p3');

      expect(transfer).toMatchObject({ mode: 'push', outcome: 'failed', attempts: 5, bytes: first });
      expect(transfer.error).toMatch(/^gave up after 5 attempts: stream closed/);
      expect(sim.jobs).toHaveLength(0);
      expect(await readdir(dir)).toEqual([]);
    });

    it('takes a refused upgrade (404) as final', async () => {
      streamCloud.refuse = 404;
      const transfer = await pushed('job-p4', 'tok-p4');

      expect(transfer).toMatchObject({
        mode: 'push',
        outcome: 'failed',
        attempts: 1,
        error: 'stream upgrade answered HTTP 404',
        reported: false,
      });
      expect(streamCloud.connections).toHaveLength(2); // the stream, then one attempt at reporting
      expect(sim.jobs).toHaveLength(0);
    });

    it('fails a stream whose end names another size than it received', async () => {
      streamCloud.onConnect = (ws, from) => {
        streamCloud.stream(ws, from, doc.length - 10);
        ws.send(JSON.stringify({ type: 'end', size: doc.length, sha256: sha256(doc) }));
      };
      const transfer = await pushed('job-p5', 'tok-p5');

      expect(transfer).toMatchObject({ outcome: 'failed', attempts: 1 });
      expect(transfer.error).toBe(`cloud ended the stream at ${doc.length - 10} bytes of ${doc.length}`);
      expect(streamCloud.reports).toEqual([{ type: 'error', error: transfer.error }]);
      expect(sim.jobs).toHaveLength(0);
    });
  });
});
