import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  connectCommand,
  interruptCommand,
  jobHeader,
  jobTrailer,
  UEL,
} from '../../src/devices/pjl/pjl-commands.ts';
import { type CliProcess, type LogLine, startCli } from '../support/cli-process.ts';
import { FakeCloud } from '../support/direct-cloud.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const READY_MS = 30_000;

/** Random bytes that happen not to contain the UEL sequence (PDLs never do). */
function documentBytes(size: number): Buffer {
  const data = randomBytes(size);
  expect(data.indexOf(UEL)).toBe(-1);
  return data;
}

async function pjlConnection(ready: LogLine): Promise<Socket> {
  const socket = connect(ready.pjlPort as number, '127.0.0.1');
  await once(socket, 'connect');
  return socket;
}

describe('mfp-gateway sim mfp', () => {
  let dir: string;
  const started: CliProcess[] = [];
  const sockets: Socket[] = [];

  function sim(args: string[]): CliProcess {
    const cli = startCli(['sim', 'mfp', ...args]);
    started.push(cli);
    return cli;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mfpgw-cli-sim-mfp-'));
  });

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(started.splice(0).map((c) => c.stop('SIGKILL')));
    await rm(dir, { recursive: true, force: true });
  });

  it('says where it listens, stores a PJL job byte-exact and stops cleanly on SIGTERM', async () => {
    const cli = sim(['--spool', dir, '--listen', '127.0.0.1:0', '--snmp', '127.0.0.1:0', '--pages', '42']);
    const ready = await cli.waitFor((l) => l.msg === 'sim mfp listening', READY_MS, 'the ready line');
    expect(ready).toMatchObject({
      pjl: `127.0.0.1:${ready.pjlPort}`,
      pjlPort: expect.any(Number),
      snmpPort: expect.any(Number),
      spool: dir,
      directCapable: false,
      syslog: null,
    });

    const doc = documentBytes(300_000);
    const socket = await pjlConnection(ready);
    sockets.push(socket);
    socket.write(Buffer.concat([jobHeader('cli-job', 'PCL'), doc, jobTrailer('cli-job')]));
    const stored = await cli.waitFor((l) => l.msg === 'job stored', READY_MS, 'the job to be stored');

    expect(stored).toMatchObject({ job: 'cli-job', bytes: doc.length, sha256: sha256(doc) });
    expect(stored.path).toBe(join(dir, '1-cli-job.prn'));
    expect((await readFile(stored.path as string)).equals(doc)).toBe(true);

    expect(await cli.stop('SIGTERM')).toBe(0);
    expect(cli.lines.find((l) => l.msg === 'sim mfp stopped')).toMatchObject({ jobs: 1 });
  });

  it('connects when told, takes the job over when interrupted, fetches the rest and logs it all', async () => {
    const doc = documentBytes(200_000);
    const cloud = new FakeCloud(doc);
    const url = await cloud.listen();
    try {
      const cli = sim(['--spool', dir, '--listen', '127.0.0.1:0', '--direct-capable']);
      const ready = await cli.waitFor((l) => l.msg === 'sim mfp listening', READY_MS, 'the ready line');
      expect(ready.directCapable).toBe(true);

      const socket = await pjlConnection(ready);
      sockets.push(socket);
      socket.write(
        Buffer.concat([
          jobHeader('cli-direct', 'PCL'),
          doc.subarray(0, 30_000),
          connectCommand('cli-direct', { url, token: 'tok', mode: 'pull' }, 'PCL'),
          doc.subarray(30_000, 50_000),
        ]),
      );
      expect(
        await cli.waitFor((l) => l.msg === 'direct connection up', READY_MS, 'the connection'),
      ).toMatchObject({
        job: 'cli-direct',
        url,
        mode: 'pull',
      });
      socket.write(interruptCommand('cli-direct'));
      const done = await cli.waitFor((l) => l.msg === 'direct transfer complete', READY_MS, 'the transfer');

      expect(cli.lines.find((l) => l.msg === 'direct transfer started')).toMatchObject({
        job: 'cli-direct',
        offset: 50_000,
        url,
      });
      expect(done).toMatchObject({
        job: 'cli-direct',
        offset: 50_000,
        bytes: doc.length,
        sha256: sha256(doc),
      });
      const stored = await cli.waitFor((l) => l.msg === 'job stored', READY_MS, 'the stored job');
      expect((await readFile(stored.path as string)).equals(doc)).toBe(true);
      expect(cloud.posts.map((p) => p.url)).toEqual([
        '/direct/v1/jobs/cli-direct/connect',
        '/direct/v1/jobs/cli-direct/complete',
      ]);
    } finally {
      await cloud.close();
    }
  });

  it('prints its usage with --help', async () => {
    const cli = sim(['--help']);
    expect(await cli.exited()).toBe(0);
    const usage = cli.lines.map((l) => l.msg).join('\n');
    for (const flag of [
      '--spool <dir>',
      '--listen <host:port>',
      '--direct-capable',
      '--syslog',
      '--snmp',
      '--pages',
    ]) {
      expect(usage).toContain(flag);
    }
  });

  it('refuses a --listen value that is not HOST:PORT, saying what to write', async () => {
    const cli = sim(['--spool', dir, '--listen', 'printer-9100']);
    expect(await cli.exited()).not.toBe(0);
    expect(cli.stderr()).toContain('"printer-9100" has no port; expected HOST:PORT');
    expect(cli.lines).toEqual([]);
  });

  it('exits with a clear message when the PJL port is taken', async () => {
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const { port } = taken.address() as { port: number };
    try {
      const cli = sim(['--spool', dir, '--listen', `127.0.0.1:${port}`]);
      expect(await cli.exited()).toBe(1);
      expect(cli.stderr()).toContain(`cannot listen on 127.0.0.1:${port}`);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      taken.close();
    }
  });
});
