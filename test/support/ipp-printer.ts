/**
 * Test harness: runs a real IPP Everywhere printer, `ippeveprinter` from Debian's
 * cups-ipp-utils, on a loopback port with its own spool directory.
 *
 * Debian builds ippeveprinter with Avahi and it refuses to start without a DNS-SD daemon
 * ("Unable to initialize DNS-SD"). So each printer gets its own little world: a private
 * D-Bus daemon on a socket in the temp dir (handed to the printer and Avahi through
 * DBUS_SYSTEM_BUS_ADDRESS) and an avahi-daemon in its own mount namespace (`unshare -m` with
 * a tmpfs over /run/avahi-daemon, where Avahi keeps its pid file), publishing on `lo` only.
 * Nothing touches the machine's own D-Bus or Avahi. Needs root (unshare, mount).
 *
 * The printer runs `-k` (keep spool files) and a print command (`-c`) so a job completes as
 * soon as the command exits: the spooled document stays in the spool dir as
 * `<job-id>-<name>.<ext>` for byte-exact checks.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PeerOnPort, peerOnFreePort } from './peer-process.ts';
import { reapOnExit } from './reap-on-exit.ts';

export const IPPEVEPRINTER_BIN = '/usr/sbin/ippeveprinter';
export const IPPTOOL_BIN = '/usr/bin/ipptool';
const DBUS_BIN = '/usr/bin/dbus-daemon';
const AVAHI_BIN = '/usr/sbin/avahi-daemon';

const READY_DEADLINE_MS = 15_000;
const POLL_MS = 50;

export interface IppPrinterOptions {
  /** MIME types the printer accepts (ippeveprinter -f). */
  formats?: string[];
  /** Seconds the print command takes per job; 0 completes at once. */
  processingSeconds?: number;
}

export interface IppPrinterHandle {
  port: number;
  /** ipp://127.0.0.1:PORT/ipp/print */
  uri: string;
  spoolDir: string;
  /** Contents of the spooled document of a job (the `<id>-*` file that is not the command's .prn output). */
  spooledDocument(jobId: number): Promise<Buffer>;
  logs(): string;
  stop(): Promise<void>;
}

/** Throws a clear error naming the package when a peer binary is missing. */
export function assertIppPeersInstalled(): void {
  const missing = [
    [IPPEVEPRINTER_BIN, 'cups-ipp-utils'],
    [IPPTOOL_BIN, 'cups-ipp-utils'],
    [DBUS_BIN, 'dbus'],
    [AVAHI_BIN, 'avahi-daemon'],
  ].filter(([bin]) => !existsSync(bin as string));
  if (missing.length > 0) {
    throw new Error(
      `IPP test peers missing: ${missing.map(([b, p]) => `${b} (package ${p})`).join(', ')}; ` +
        'run: sudo bash .ci/install-peers.sh',
    );
  }
}

let counter = 0;

/** Starts dbus + avahi + ippeveprinter; resolves once the printer serves its page on its port. */
export async function startIppPrinter(options: IppPrinterOptions = {}): Promise<IppPrinterHandle> {
  assertIppPeersInstalled();
  const dir = await mkdtemp(join(tmpdir(), 'mfpgw-ipp-'));
  const spoolDir = join(dir, 'spool');
  await mkdir(spoolDir);
  const children: ChildProcess[] = [];
  let log = '';
  const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess => {
    // Own process group, so stop() also ends whatever it started.
    const child = spawn(cmd, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    reapOnExit(child);
    children.push(child);
    const collect = (b: Buffer) => {
      if (log.length < 256 * 1024) log += `[${cmd.split('/').pop()}] ${b.toString()}`;
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    return child;
  };
  let printer: PeerOnPort | undefined;
  const stop = async (): Promise<void> => {
    await printer?.stop();
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(-(child.pid as number), 'SIGTERM');
        await exited;
      }
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const busSocket = join(dir, 'bus.sock');
    await writeFile(join(dir, 'bus.conf'), busConfig(busSocket));
    await writeFile(join(dir, 'avahi.conf'), AVAHI_CONFIG);
    run(DBUS_BIN, [`--config-file=${join(dir, 'bus.conf')}`, '--nofork', '--nopidfile']);
    await waitFor(
      () => existsSync(busSocket),
      'private D-Bus socket',
      () => log,
    );
    const busEnv = { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${busSocket}` };
    await mkdir('/run/avahi-daemon', { recursive: true });
    run(
      'unshare',
      [
        '-m',
        'sh',
        '-c',
        `mount -t tmpfs none /run/avahi-daemon && exec ${AVAHI_BIN} --no-drop-root --no-chroot --no-rlimits -f "$1"`,
        'sh',
        join(dir, 'avahi.conf'),
      ],
      busEnv,
    );
    await waitFor(
      () => log.includes('Server startup complete'),
      'avahi-daemon',
      () => log,
    );

    const command = join(dir, 'print-command.sh');
    await writeFile(command, `#!/bin/sh\nsleep ${options.processingSeconds ?? 0}\n`);
    await chmod(command, 0o755);
    const formats = options.formats ?? ['application/pdf', 'text/plain', 'application/octet-stream'];
    const name = `mfpgw-test-${process.pid}-${++counter}`;
    // ippeveprinter cannot pick its own port (-p 0 means its default): on a taken one it exits
    // "Address already in use" and peerOnFreePort starts it on another.
    printer = await peerOnFreePort('startIppPrinter', (port) => ({
      name: 'ippeveprinter',
      bin: IPPEVEPRINTER_BIN,
      args: ['-p', String(port), '-d', spoolDir, '-k', '-c', command, '-f', formats.join(','), name],
      // Own process group, so stop() also ends the print command a job is running.
      spawn: { env: { ...process.env, ...busEnv }, detached: true },
      // Its own page, not just an open port: whoever took the port meanwhile accepts too.
      ready: () => pageTitled(port, name),
      portInUse: /Address already in use/i,
      readyDeadlineMs: READY_DEADLINE_MS,
      pollMs: POLL_MS,
    }));
    const { port } = printer;
    return {
      port,
      uri: `ipp://127.0.0.1:${port}/ipp/print`,
      spoolDir,
      async spooledDocument(jobId: number) {
        const files = (await readdir(spoolDir)).filter(
          (f) => f.startsWith(`${jobId}-`) && !f.endsWith('.prn'),
        );
        if (files.length !== 1)
          throw new Error(`job ${jobId}: expected one spool file, found ${files.join(', ')}`);
        return readFile(join(spoolDir, files[0] as string));
      },
      logs: () => `${log}[ippeveprinter] ${printer?.process.output ?? ''}`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Runs ipptool with a test file against a URI; resolves with its exit code and output. */
export function runIpptool(
  uri: string,
  testFile: string,
  extraArgs: string[] = [],
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(IPPTOOL_BIN, ['-t', ...extraArgs, uri, testFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => {
      output += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      output += b.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? -1, output }));
  });
}

function busConfig(socket: string): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`;
}

const AVAHI_CONFIG = `[server]
use-ipv4=yes
use-ipv6=no
allow-interfaces=lo
enable-dbus=yes
[publish]
publish-hinfo=no
publish-workstation=no
`;

/** True when the web page on port is titled name: ippeveprinter's status page for that printer. */
function pageTitled(port: number, name: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/', timeout: 1_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve(body.includes(`<title>${name}</title>`)));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  logs: () => string,
): Promise<void> {
  const deadline = Date.now() + READY_DEADLINE_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${READY_DEADLINE_MS} ms:\n${logs()}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
