import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Client, ConnectConfig, SFTPWrapper } from 'ssh2';
import { onDemand } from '../../runtime/on-demand.ts';
import { SecureFileError } from '../../storage/secure-format.ts';
import { type RemoteShare, shareError, type Upload } from './remote-share.ts';

export interface SftpShareOptions {
  host: string;
  port: number;
  username: string;
  /** Absolute directory on the server. */
  directory: string;
  /** The server's host key fingerprint, `SHA256:` and unpadded base64 as `ssh-keygen -l` prints it. */
  hostKey: string;
  password?: string | undefined;
  privateKeyFile?: string | undefined;
  /** Give up connecting or on a silent server after this long. */
  timeoutMs: number;
}

/** SFTP status codes of draft-ietf-secsh-filexfer-02 that a store tells apart. */
const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;

/**
 * A directory on an SFTP server (OpenSSH's sftp-server, any NAS with SSH), reached with the
 * `ssh2` library: the server must show the configured host key (no trust on first use), login by
 * key or password. Each store is one connection: write a temp file (exclusive create, mode 0600),
 * patch the length field, fsync (OpenSSH's fsync extension where offered), rename to the first
 * free name — the plain SFTP rename never replaces a file — and remove the temp file on any failure.
 */
export class SftpShare implements RemoteShare {
  readonly address: string;
  readonly canPatch = true;
  private readonly options: SftpShareOptions;

  constructor(options: SftpShareOptions) {
    this.options = options;
    this.address = `sftp://${options.username}@${options.host}:${options.port}${options.directory}`;
  }

  async store(upload: Upload, signal: AbortSignal): Promise<string> {
    const session = await this.connect(signal);
    const tmp = posix.join(this.options.directory, upload.tempName);
    let written = false;
    try {
      const handle = await call<Buffer>((cb) => session.sftp.open(tmp, 'wx', { mode: 0o600 }, cb));
      written = true;
      try {
        await writeWindowed(session.sftp, handle, upload.bytes as AsyncIterable<Buffer>, signal);
        const patch = upload.patch?.();
        if (patch) await writeAll(session.sftp, handle, patch.data, patch.at);
        await fsync(session.sftp, handle);
      } finally {
        await call<void>((cb) => session.sftp.close(handle, cb)).catch(() => {});
      }
      for (const name of upload.names) {
        const target = posix.join(this.options.directory, name);
        if (await exists(session.sftp, target)) continue;
        try {
          await call<void>((cb) => session.sftp.rename(tmp, target, cb));
          written = false;
          return name;
        } catch (err) {
          // Taken between the check and the rename: try the next name.
          if (!(await exists(session.sftp, target))) throw err;
        }
      }
      throw new SecureFileError(
        'MFP_STORE_ERR_EXISTS',
        `every name tried for this document is taken in ${this.address}; move some files away`,
      );
    } catch (err) {
      throw this.asStoreError(err, signal);
    } finally {
      if (written) await call<void>((cb) => session.sftp.unlink(tmp, cb)).catch(() => {});
      session.client.end();
    }
  }

  async problem(signal: AbortSignal): Promise<string | undefined> {
    let session: Session | undefined;
    try {
      session = await this.connect(signal);
      const sftp = session.sftp;
      const stats = await call<{ isDirectory(): boolean }>((cb) => sftp.stat(this.options.directory, cb));
      if (!stats.isDirectory()) return `${this.address} is not a directory; check the device's url`;
      return undefined;
    } catch (err) {
      return this.asStoreError(err, signal).message;
    } finally {
      session?.client.end();
    }
  }

  private async connect(signal: AbortSignal): Promise<Session> {
    signal.throwIfAborted();
    const { Client } = onDemand('ssh2');
    const { host, port, username, password, privateKeyFile, timeoutMs } = this.options;
    const privateKey = privateKeyFile === undefined ? undefined : await readKey(privateKeyFile);
    const client: Client = new Client();
    let shown: string | undefined;
    const config: ConnectConfig = {
      host,
      port,
      username,
      readyTimeout: timeoutMs,
      keepaliveInterval: 0,
      hostVerifier: (key: Buffer) => {
        shown = fingerprint(key);
        return shown === this.options.hostKey;
      },
      ...(password === undefined ? {} : { password }),
      ...(privateKey === undefined ? {} : { privateKey }),
    };
    return new Promise<Session>((resolve, reject) => {
      const onAbort = () => {
        client.end();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      client.once('error', (err: Error & { level?: string }) => {
        signal.removeEventListener('abort', onAbort);
        if (shown !== undefined && shown !== this.options.hostKey) {
          reject(
            new SecureFileError(
              'MFP_STORE_ERR_DENIED',
              `the SFTP server at ${host}:${port} shows host key ${shown}, not the configured hostKey ${this.options.hostKey}; ` +
                'if the server was really re-keyed, put its new fingerprint (ssh-keygen -l -f the host key) in the device config',
              { cause: err },
            ),
          );
        } else if (err.level === 'client-authentication') {
          reject(
            new SecureFileError(
              'MFP_STORE_ERR_DENIED',
              `the SFTP server at ${host}:${port} refused the login of ${username}; check the device's username and its password or privateKeyFile`,
              { cause: err },
            ),
          );
        } else reject(err);
      });
      client.once('ready', () => {
        client.sftp((err, sftp) => {
          signal.removeEventListener('abort', onAbort);
          if (err) {
            client.end();
            reject(err);
          } else resolve({ client, sftp });
        });
      });
      client.connect(config);
    });
  }

  private asStoreError(err: unknown, signal: AbortSignal): SecureFileError {
    return shareError(this.address, err, signal, (e, detail) => {
      const code = (e as { code?: unknown }).code;
      if (code === SFTP_PERMISSION_DENIED) {
        return new SecureFileError(
          'MFP_STORE_ERR_IO',
          `${this.address}: permission denied (${detail}); let ${this.options.username} write to the directory`,
          { cause: e },
        );
      }
      if (code === SFTP_NO_SUCH_FILE) {
        return new SecureFileError(
          'MFP_STORE_ERR_IO',
          `${this.address}: no such directory; check the device's url`,
          {
            cause: e,
          },
        );
      }
      return undefined;
    });
  }
}

interface Session {
  client: Client;
  sftp: SFTPWrapper;
}

/** The fingerprint of a raw public key blob in OpenSSH's notation. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

async function readKey(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new SecureFileError(
      'MFP_STORE_ERR_DENIED',
      `cannot read the SFTP privateKeyFile ${path} (${(err as Error).message}); check the path and that the service may read it`,
      { cause: err },
    );
  }
}

function call<T>(fn: (cb: (err: Error | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((err, value) => (err ? reject(err) : resolve(value)));
  });
}

async function writeAll(sftp: SFTPWrapper, handle: Buffer, data: Buffer, position: number): Promise<void> {
  await call<void>((cb) => sftp.write(handle, data, 0, data.length, position, cb));
}

/** Writes in flight at once: one write per round trip would cap a store at a chunk per RTT. */
const WRITE_WINDOW = 16;

/** Writes the chunks at their offsets with up to WRITE_WINDOW writes outstanding (memory: that many chunks). */
async function writeWindowed(
  sftp: SFTPWrapper,
  handle: Buffer,
  chunks: AsyncIterable<Buffer>,
  signal: AbortSignal,
): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let position = 0;
  for await (const chunk of chunks) {
    signal.throwIfAborted();
    if (failure !== undefined) break;
    const write: Promise<void> = writeAll(sftp, handle, chunk, position).then(
      () => {
        inFlight.delete(write);
      },
      (err: unknown) => {
        inFlight.delete(write);
        failure ??= err;
      },
    );
    inFlight.add(write);
    position += chunk.length;
    if (inFlight.size >= WRITE_WINDOW) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
}

async function fsync(sftp: SFTPWrapper, handle: Buffer): Promise<void> {
  // An old server without the extension only loses the crash guarantee, as a local share that
  // cannot fsync a directory does.
  await call<void>((cb) => sftp.ext_openssh_fsync(handle, cb)).catch(() => {});
}

async function exists(sftp: SFTPWrapper, path: string): Promise<boolean> {
  return call<unknown>((cb) => sftp.lstat(path, cb)).then(
    () => true,
    () => false,
  );
}
