/**
 * Test harness: real file servers a NAS speaks, from Debian's packages, on loopback ports of
 * their own with throwaway config and files — OpenSSH's sshd with its sftp-server subsystem
 * (public-key login, a fresh host key whose fingerprint the client must pin) and Samba's smbd
 * (SMB3, a password user, encryption required). Both need root (sshd to switch users, smbd to
 * serve a Unix account), as CI runs; they serve the Unix account `mfpnas`, created if missing.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { type PeerCommand, peerOnFreePort } from './peer-process.ts';

const run = promisify(execFile);
const USER = 'mfpnas';
const READY_DEADLINE_MS = 15_000;
const SSHD = '/usr/sbin/sshd';
const SFTP_SERVER = '/usr/lib/openssh/sftp-server';
const SMBD = '/usr/sbin/smbd';

export interface FileServer {
  /** The share's URL as the gateway's config takes it (no credentials in it). */
  readonly url: string;
  /** The directory on this machine the server stores into (to read back what was stored). */
  readonly dir: string;
  readonly username: string;
  stop(): Promise<void>;
  /** The server's own output, for diagnostics. */
  log(): string;
}

export interface SftpServer extends FileServer {
  /** The host key's fingerprint as `ssh-keygen -l` prints it: `SHA256:…`. */
  readonly hostKey: string;
  /** A private key file the server accepts for `username`. */
  readonly privateKeyFile: string;
}

export interface SambaServer extends FileServer {
  readonly password: string;
}

/** Skips nothing silently: a missing package or a non-root run is an error that says what to do. */
function need(path: string, pkg: string): void {
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: these tests need a real server (apt-get install ${pkg}, or run .ci/install-peers.sh)`,
    );
  }
  if (process.getuid?.() !== 0) throw new Error(`the ${pkg} test server needs root (CI runs as root)`);
}

async function ensureUser(): Promise<{ uid: number; gid: number }> {
  const find = async () => {
    for (const line of (await readFile('/etc/passwd', 'utf8')).split('\n')) {
      const [name, , uid, gid] = line.split(':');
      if (name === USER) return { uid: Number(uid), gid: Number(gid) };
    }
    return undefined;
  };
  const found = await find();
  if (found) {
    // An account made by hand may be locked or have no shell; sshd needs both for sftp-server.
    await run('usermod', ['--shell', '/bin/sh', '--password', '*', USER]);
    return found;
  }
  // '*' rather than useradd's locked '!': sshd refuses every login, keys included, of a locked account.
  await run('useradd', ['--no-create-home', '--shell', '/bin/sh', '--password', '*', USER]).catch(
    async (err) => {
      if (!(await find())) throw err; // another test file created it meanwhile
    },
  );
  const created = await find();
  if (!created) throw new Error(`could not create the Unix user ${USER}`);
  return created;
}

/**
 * Starts a server on a free port through peerOnFreePort: a port taken between choosing it and the
 * server binding it means another try on a fresh one. Ready once the server's own output says it
 * listens (an open port alone could be a squatter's). Removes dir once it stops or fails.
 */
async function runOnFreePort(
  dir: string,
  command: (port: number) => Omit<PeerCommand, 'readyDeadlineMs'>,
): Promise<{ port: number; stop(): Promise<void>; log(): string }> {
  try {
    const server = await peerOnFreePort(basename(dir), (port) => ({
      ...command(port),
      readyDeadlineMs: READY_DEADLINE_MS,
    }));
    return {
      port: server.port,
      stop: async () => {
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      },
      log: () => server.process.output,
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** sshd on a free loopback port serving only SFTP (OpenSSH's sftp-server) to `mfpnas` by key. */
export async function startSftpServer(): Promise<SftpServer> {
  need(SSHD, 'openssh-server');
  need(SFTP_SERVER, 'openssh-sftp-server');
  const user = await ensureUser();
  const dir = await mkdtemp(join(tmpdir(), 'mfpgw-sftp-'));
  const share = join(dir, 'share');
  await mkdir(share);
  await chown(share, user.uid, user.gid);
  // sshd checks that the path to its files is not writable by others (StrictModes for the keys).
  await chmod(dir, 0o755);
  const hostKeyFile = join(dir, 'host_ed25519');
  const clientKeyFile = join(dir, 'client_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKeyFile]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKeyFile]);
  const authorized = join(dir, 'authorized_keys');
  await writeFile(authorized, await readFile(`${clientKeyFile}.pub`), { mode: 0o644 });
  const fingerprint = (
    await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKeyFile}.pub`])
  ).stdout.split(' ')[1];
  if (!fingerprint?.startsWith('SHA256:')) throw new Error('ssh-keygen printed no SHA256 fingerprint');
  await mkdir('/run/sshd', { recursive: true }); // sshd's privilege separation directory
  const config = join(dir, 'sshd_config');
  await writeFile(
    config,
    [
      'ListenAddress 127.0.0.1', // on the port given with -p
      `HostKey ${hostKeyFile}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorized}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      `AllowUsers ${USER}`,
      'StrictModes no',
      `Subsystem sftp ${SFTP_SERVER}`,
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  const sshd = await runOnFreePort(dir, (port) => ({
    name: 'sshd',
    bin: SSHD,
    args: ['-D', '-e', '-f', config, '-p', String(port)],
    ready: (output) => output.includes(`Server listening on 127.0.0.1 port ${port}.`),
    portInUse: /Address already in use/i,
  }));
  return {
    url: `sftp://${USER}@127.0.0.1:${sshd.port}${share}`,
    dir: share,
    username: USER,
    hostKey: fingerprint,
    privateKeyFile: clientKeyFile,
    stop: sshd.stop,
    log: sshd.log,
  };
}

/** smbd on a free loopback port with one share `scans` for `mfpnas` (password), SMB3 with encryption required. */
export async function startSambaServer(): Promise<SambaServer> {
  need(SMBD, 'samba');
  const user = await ensureUser();
  const dir = await mkdtemp(join(tmpdir(), 'mfpgw-smb-'));
  const share = join(dir, 'share');
  for (const sub of ['private', 'lock', 'state', 'cache', 'pid', 'ncalrpc', 'log'])
    await mkdir(join(dir, sub));
  await mkdir(share);
  await chown(share, user.uid, user.gid);
  await chmod(dir, 0o755);
  const password = randomBytes(9).toString('base64url');
  const config = join(dir, 'smb.conf');
  await writeFile(
    config,
    [
      '[global]',
      'workgroup = WORKGROUP',
      'server role = standalone server',
      // On the port given with -p, IPv4 loopback only: on a taken port smbd then has nowhere to
      // listen and exits, rather than serving on ::1 alone.
      'bind interfaces only = yes',
      'interfaces = 127.0.0.1',
      `private dir = ${join(dir, 'private')}`,
      `lock directory = ${join(dir, 'lock')}`,
      `state directory = ${join(dir, 'state')}`,
      `cache directory = ${join(dir, 'cache')}`,
      `pid directory = ${join(dir, 'pid')}`,
      `ncalrpc dir = ${join(dir, 'ncalrpc')}`,
      `log file = ${join(dir, 'log', 'smbd.log')}`,
      `passdb backend = tdbsam:${join(dir, 'private', 'passdb.tdb')}`,
      'disable netbios = yes',
      'load printers = no',
      'printcap name = /dev/null',
      'disable spoolss = yes',
      'server min protocol = SMB3',
      'smb encrypt = required',
      '[scans]',
      `path = ${share}`,
      'read only = no',
      `valid users = ${USER}`,
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve, reject) => {
    const add = spawn('smbpasswd', ['-c', config, '-a', '-s', USER], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    add.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    add.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`smbpasswd failed: ${err}`))));
    add.stdin.end(`${password}\n${password}\n`);
  });
  const smbd = await runOnFreePort(dir, (port) => ({
    name: 'smbd',
    bin: SMBD,
    // -d 2: for "waiting for connections", said once it listens.
    args: [
      '--foreground',
      '--no-process-group',
      '--debug-stdout',
      '-d',
      '2',
      '-s',
      config,
      '-p',
      String(port),
    ],
    // A process group of its own (detached): smbd signals its whole group when it shuts down,
    // which would otherwise be the test runner's.
    spawn: { detached: true },
    ready: (output) => output.includes('waiting for connections'),
    portInUse: /Address already in use/i,
  }));
  return {
    url: `smb://127.0.0.1:${smbd.port}/scans`,
    dir: share,
    username: USER,
    password,
    stop: smbd.stop,
    log: smbd.log,
  };
}
