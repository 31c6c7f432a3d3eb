import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { connectCommand, interruptCommand, UEL } from '../../../src/devices/pjl/pjl-commands.ts';
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
      if (t.outcome !== 'complete' && t.outcome !== 'failed') return;
      off();
      resolve(t);
    });
  });
}

function eoj(name: string): Buffer {
  return Buffer.concat([UEL, Buffer.from(`@PJL EOJ NAME="${name}"\r\n`, 'latin1'), UEL]);
}

describe('sim MFP direct transfers (tunnel reduction, make-before-break)', () => {
  let dir: string;
  let sim: SimMfp;
  let cloud: FakeCloud;
  let client: PjlClient;
  let cloudUrl: string;
  const doc = threePages();
  /** Bytes through the channel before the connection-establishment command, and before the interrupt. */
  const first = 100_000;
  const second = 150_000;
  /** A direct transfer that took the whole rest in one go and was reported. */
  const wholeAtOnce = {
    offset: second,
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

  /** The gateway's side up to the device's answer to 7G: part of the job, CONNECT, more of the job. */
  async function connectMidJob(name: string, token: string, mode: 'push' | 'pull', url = cloudUrl) {
    await client.write(Buffer.concat([header(name), doc.subarray(0, first)]));
    await client.write(connectCommand(name, { url, token, mode }, 'PCL'));
    // Make-before-break: the job goes on over the channel while the device connects.
    await client.write(doc.subarray(first, second));
  }

  /** Switches a job (CONNECT, then INTERRUPT once connected) and resolves with its settled direct transfer. */
  async function directTransfer(name: string, token: string, mode: 'push' | 'pull' = 'pull', url = cloudUrl) {
    const done = settled(sim);
    await connectMidJob(name, token, mode, url);
    expect(await client.reply('CONNECTED')).toBe(`@PJL USTATUS JOB\r\nCONNECTED\r\nNAME="${name}"\r\n`);
    await client.write(interruptCommand(name));
    expect(await client.reply('INTERRUPTED')).toBe(
      `@PJL USTATUS JOB\r\nINTERRUPTED\r\nNAME="${name}"\r\nOFFSET=${second}\r\n`,
    );
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

  it('connects while the job goes on, takes it over at its own count on the interrupt, and stores it once', async () => {
    await start({ directCapable: true });
    const transfer = await directTransfer('job-1', 'tok-1');

    // CONNECTED came before the interrupt was even sent; the device said so first.
    const words = client.replies.map((r) => r.split('\r\n')[1]);
    expect(words.indexOf('CONNECTED')).toBeLessThan(words.indexOf('INTERRUPTED'));
    expect(cloud.requests.map((r) => [r.method, r.url, r.authorization])).toEqual([
      ['POST', '/direct/v1/jobs/job-1/connect', 'Bearer tok-1'],
      ['GET', `/direct/v1/jobs/job-1/document?offset=${second}`, 'Bearer tok-1'],
      ['POST', '/direct/v1/jobs/job-1/complete', 'Bearer tok-1'],
    ]);
    expect(sim.jobs).toHaveLength(1);
    const stored = await readFile(sim.jobs[0]?.path as string);
    expect(stored.length).toBe(doc.length);
    expect(sha256(stored)).toBe(sha256(doc));
    expect(JSON.parse(cloud.posts[1]?.body ?? '')).toEqual({
      bytes: doc.length,
      sha256: sha256(doc),
      pages: 3,
    });
    expect(transfer).toMatchObject({ ...wholeAtOnce, name: 'job-1' });
    expect(sim.directTransfers).toEqual([transfer]);
    expect(sim.pageCounter).toBe(3);

    // A stray EOJ for the handed-over job must not end (or store) it a second time.
    await client.write(Buffer.concat([UEL, Buffer.from('@PJL EOJ NAME="job-1"\r\n@PJL INFO ID\r\n'), UEL]));
    await client.reply('@PJL INFO ID');
    expect(client.replies.some((r) => r.includes('END'))).toBe(false);
    expect(sim.jobs).toHaveLength(1);
    expect(await readdir(dir)).toHaveLength(1);
  });

  it('finishes a job over the channel when it ends before the interrupt, and drops its direct connection', async () => {
    await start({ directCapable: true });
    await connectMidJob('job-e', 'tok-e', 'pull');
    await client.reply('CONNECTED');
    await client.write(Buffer.concat([doc.subarray(second), eoj('job-e')]));
    await client.reply('END');
    expect(sim.jobs).toHaveLength(1);
    expect(sha256(await readFile(sim.jobs[0]?.path as string))).toBe(sha256(doc));
    expect(cloud.requests.map((r) => r.url)).toEqual(['/direct/v1/jobs/job-e/connect']);
    expect(sim.directTransfers).toEqual([]);
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
      `/direct/v1/jobs/job-3/document?offset=${second}`,
      `/direct/v1/jobs/job-3/document?offset=${second + part}`,
    ]);
    expect(transfer).toMatchObject({ outcome: 'complete', attempts: 2, bytes: doc.length });
    expect(sim.jobs).toHaveLength(1);
    expect(sha256(await readFile(sim.jobs[0]?.path as string))).toBe(sha256(doc));
  });

  it('gives up after five failed attempts, discards the partial job and reports the error', async () => {
    await start({ directCapable: true });
    cloud.onGet = (res) => res.writeHead(503).end();
    const transfer = await directTransfer('job-4', 'tok-4');
    expect(cloud.gets).toHaveLength(5);
    expect(transfer).toMatchObject({ outcome: 'failed', attempts: 5, bytes: second, reported: true });
    expect(transfer.error).toMatch(/gave up after 5 attempts: GET document answered HTTP 503/);
    expect(JSON.parse(cloud.posts.at(-1)?.body ?? '')).toEqual({ error: transfer.error });
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
    expect(sim.jobs).toHaveLength(0);
  });

  it('refuses to connect when not direct-capable, and the job goes on over the channel, stored whole', async () => {
    await start({});
    await connectMidJob('job-6', 'tok-6', 'pull');
    expect(await client.reply('REFUSED')).toBe('@PJL USTATUS JOB\r\nREFUSED\r\nNAME="job-6"\r\n');
    await client.write(Buffer.concat([doc.subarray(second), eoj('job-6')]));
    await client.reply('END');
    expect(cloud.requests).toEqual([]);
    expect(sim.jobs).toHaveLength(1);
    expect(sha256(await readFile(sim.jobs[0]?.path as string))).toBe(sha256(doc));
  });

  it('refuses when the cloud will not take its connection, and an interrupt then drops the job', async () => {
    await start({ directCapable: true });
    cloud.connectStatus = 404;
    await connectMidJob('job-n', 'tok-n', 'pull');
    expect(await client.reply('REFUSED')).toContain('NAME="job-n"');
    expect(cloud.requests.map((r) => r.url)).toEqual(['/direct/v1/jobs/job-n/connect']);
    await client.write(interruptCommand('job-n'));
    await vi.waitFor(() => expect(client.replies.filter((r) => r.includes('REFUSED'))).toHaveLength(2));
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a CONNECT it cannot act on (no token, unknown MODE), and the job goes on', async () => {
    await start({ directCapable: true });
    await client.write(Buffer.concat([header('job-7'), doc.subarray(0, first)]));
    await client.write(
      Buffer.concat([
        UEL,
        Buffer.from(
          `@PJL MFPGW CONNECT NAME="job-7" URL="${cloudUrl}"\r\n@PJL ENTER LANGUAGE=PCL\r\n`,
          'latin1',
        ),
      ]),
    );
    expect(await client.reply('REFUSED')).toContain('NAME="job-7"');
    await client.write(
      Buffer.from(
        connectCommand('job-7', { url: cloudUrl, token: 'tok-7', mode: 'push' }, 'PCL')
          .toString('latin1')
          .replace('MODE=PUSH', 'MODE=CARRIER'),
        'latin1',
      ),
    );
    await client.write(Buffer.concat([doc.subarray(first), eoj('job-7')]));
    await client.reply('END');
    expect(client.replies.filter((r) => r.includes('REFUSED'))).toHaveLength(2);
    expect(cloud.requests).toEqual([]);
    expect(sha256(await readFile(sim.jobs[0]?.path as string))).toBe(sha256(doc));
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

    it('tells the gateway over syslog when its connection is up, when it takes over and when the job completes', async () => {
      await start({ directCapable: true, syslog: { host: '127.0.0.1', port: syslog.address().port } });
      await directTransfer('job-8', 'tok-8');
      await received(3);

      expect(messages.map((m) => [m.facility, m.severity, m.appName, m.procId, m.msgId])).toEqual([
        [16, 6, 'sim-mfp', null, 'direct'],
        [16, 6, 'sim-mfp', null, 'direct'],
        [16, 6, 'sim-mfp', null, 'direct'],
      ]);
      expect(messages.map((m) => m.message)).toEqual([
        `direct connection up: job="job-8" url=${cloudUrl} mode=pull attempts=1`,
        `interrupted, continuing on the direct connection: job="job-8" offset=${second} bytes=${second} mode=pull`,
        `direct transfer complete: job="job-8" offset=${second} bytes=${doc.length} pages=3 sha256=${sha256(doc)} attempts=1`,
      ]);
      expect(messages.every((m) => m.timestamp !== null && m.hostname !== null)).toBe(true);
    });

    it('tells the gateway over syslog when a direct transfer fails', async () => {
      await start({ directCapable: true, syslog: { host: '127.0.0.1', port: syslog.address().port } });
      cloud.onGet = (res) => res.writeHead(404).end();
      await directTransfer('job-9', 'tok-9');
      await received(3);

      expect(messages[2]?.message).toBe(
        `direct transfer failed: job="job-9" offset=${second} bytes=${second} attempts=1 error="GET document answered HTTP 404"`,
      );
    });
  });

  describe('push variant (MODE=PUSH)', () => {
    let streamCloud: StreamCloud;
    let streamUrl: string;

    /** Switches a job in push mode and resolves with its direct transfer once that has settled. */
    async function pushed(name: string, token: string): Promise<DirectTransfer> {
      await start({ directCapable: true });
      return directTransfer(name, token, 'push', streamUrl);
    }

    beforeEach(async () => {
      streamCloud = new StreamCloud(doc);
      streamUrl = await streamCloud.listen();
    });

    afterEach(() => streamCloud.close());

    it('opens its stream on CONNECT, says what it holds after the interrupt, stores what the cloud pushes and reports on the same socket', async () => {
      const transfer = await pushed('job-p1', 'tok-p1');

      expect(streamCloud.connections).toEqual([
        {
          url: '/direct/v1/jobs/job-p1/stream',
          authorization: 'Bearer tok-p1',
          from: second,
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

      expect(streamCloud.connections.map((c) => c.from)).toEqual([second, second + part]);
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

      expect(transfer).toMatchObject({ mode: 'push', outcome: 'failed', attempts: 5, bytes: second });
      expect(transfer.error).toMatch(/^gave up after 5 attempts: stream closed/);
      expect(sim.jobs).toHaveLength(0);
      expect(await readdir(dir)).toEqual([]);
    });

    it('takes a refused upgrade (404) as final: it cannot connect, and the job goes on over the channel', async () => {
      streamCloud.refuse = 404;
      await start({ directCapable: true });
      await connectMidJob('job-p4', 'tok-p4', 'push', streamUrl);
      expect(await client.reply('REFUSED')).toContain('NAME="job-p4"');
      expect(streamCloud.connections).toHaveLength(1);
      await client.write(Buffer.concat([doc.subarray(second), eoj('job-p4')]));
      await client.reply('END');
      expect(sha256(await readFile(sim.jobs[0]?.path as string))).toBe(sha256(doc));
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
