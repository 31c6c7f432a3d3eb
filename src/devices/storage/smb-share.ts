import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { SecureFileError } from '../../storage/secure-format.ts';
import { type RemoteShare, shareError, type Upload } from './remote-share.ts';

export const SMBCLIENT = '/usr/bin/smbclient';

export interface SmbShareOptions {
  host: string;
  port: number;
  /** The share's name on the server. */
  share: string;
  /** A directory inside the share ('' for its root). */
  directory: string;
  username: string;
  password: string;
  /** The user's domain or workgroup, when the server wants one. */
  domain?: string | undefined;
  /** SMB3 encryption (default), signing only, or neither. */
  protection: 'encrypt' | 'sign' | 'off';
  timeoutMs: number;
  /** The smbclient binary (Debian's `smbclient` package). */
  smbclient?: string;
}

/** NT status codes a store tells apart; anything else is an I/O error with the status in its message. */
const COLLISION = 'NT_STATUS_OBJECT_NAME_COLLISION';
const DENIED = /NT_STATUS_(LOGON_FAILURE|ACCESS_DENIED|ACCOUNT_\w+|WRONG_PASSWORD|BAD_NETWORK_NAME)/;
const FULL = /NT_STATUS_(DISK_FULL|QUOTA_EXCEEDED)/;
const STATUS = /NT_STATUS_\w+/;
/** Characters SMB does not allow in a name, and `;`, which ends a command for smbclient. */
const SMB_FORBIDDEN = /[<>:"|?*;]/;

/**
 * A directory of an SMB share (Samba, Windows, any NAS), through Samba's own client, `smbclient`.
 * No JavaScript SMB client is kept up well enough for SMB3 with encryption and NTLMv2 (the
 * npm `smb2` family is SMB 2.0-only and unmaintained), so the share is reached with the tool
 * the Samba team keeps; the password goes in its environment, never on its command line.
 * A store streams the sealed file to a temp name (`put -` reads standard input, with
 * backpressure through the pipe), then renames it to the first free name (SMB's rename never
 * replaces a file), and removes the temp file on any failure. smbclient cannot write at an
 * offset, so the sealed file must declare its length up front.
 */
export class SmbShare implements RemoteShare {
  readonly address: string;
  readonly canPatch = false;
  private readonly options: SmbShareOptions;

  constructor(options: SmbShareOptions) {
    this.options = options;
    const dir = options.directory === '' ? '' : `/${options.directory}`;
    this.address = `smb://${options.host}:${options.port}/${options.share}${dir}`;
  }

  async store(upload: Upload, signal: AbortSignal): Promise<string> {
    const names = [...upload.names];
    const bad = names.find((n) => SMB_FORBIDDEN.test(n));
    if (bad !== undefined) {
      throw new SecureFileError(
        'MFP_STORE_ERR_BAD_NAME',
        `cannot store ${JSON.stringify(bad)} on an SMB share: its names cannot hold < > : " | ? * or ;; give a plain file name`,
      );
    }
    if (upload.patch)
      throw new Error('SmbShare cannot patch a file after writing it: declare the length up front');
    let written = false;
    try {
      await this.run(`put - "${upload.tempName}"`, signal, upload.bytes);
      written = true;
      for (const name of names) {
        const result = await this.run(`rename "${upload.tempName}" "${name}"`, signal).then(
          () => 'renamed' as const,
          (err: unknown) => {
            if (err instanceof SmbStatus && err.status === COLLISION) return 'taken' as const;
            throw err;
          },
        );
        if (result === 'renamed') {
          written = false;
          return name;
        }
      }
      throw new SecureFileError(
        'MFP_STORE_ERR_EXISTS',
        `every name tried for this document is taken in ${this.address}; move some files away`,
      );
    } catch (err) {
      throw this.asStoreError(err, signal);
    } finally {
      if (written)
        await this.run(`del "${upload.tempName}"`, AbortSignal.timeout(this.options.timeoutMs)).catch(
          () => {},
        );
    }
  }

  async problem(signal: AbortSignal): Promise<string | undefined> {
    try {
      await this.run('pwd', signal);
      return undefined;
    } catch (err) {
      return this.asStoreError(err, signal).message;
    }
  }

  /** Runs one smbclient command against the share's directory; rejects with SmbStatus on an NT error. */
  private async run(command: string, signal: AbortSignal, input?: Upload['bytes']): Promise<string> {
    const o = this.options;
    const binary = o.smbclient ?? SMBCLIENT;
    if (!existsSync(binary)) {
      throw new SecureFileError(
        'MFP_STORE_ERR_IO',
        `${binary} is missing: SMB shares are reached with Samba's client; install it (apt-get install smbclient)`,
      );
    }
    const args = [
      `//${o.host}/${o.share}`,
      '--port',
      String(o.port),
      '--user',
      o.username,
      '--max-protocol',
      'SMB3',
      `--client-protection=${o.protection}`,
      '--timeout',
      String(Math.max(1, Math.ceil(o.timeoutMs / 1000))),
      '--configfile',
      '/dev/null',
      ...(o.domain === undefined ? [] : ['--workgroup', o.domain]),
      ...(o.directory === '' ? [] : ['--directory', o.directory]),
      '--command',
      command,
    ];
    const child = spawn(binary, args, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', PASSWD: o.password },
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      signal,
    });
    let output = '';
    const collect = (d: Buffer) => {
      // Bounded: smbclient says little; a misbehaving one must not fill the gateway's memory.
      if (output.length < 16_384) output += d.toString();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve(code));
    });
    if (input !== undefined && child.stdin) {
      // A failed write (smbclient gave up) shows in its exit status and output below.
      await pipeline(input, child.stdin).catch((err: unknown) => {
        if (signal.aborted) throw err;
        if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
      });
    }
    const code = await exited;
    const status = STATUS.exec(output)?.[0];
    if (status !== undefined) throw new SmbStatus(status, output);
    if (code !== 0) throw new Error(`smbclient exited with status ${code}: ${output.trim().slice(0, 500)}`);
    return output;
  }

  private asStoreError(err: unknown, signal: AbortSignal): SecureFileError {
    return shareError(this.address, err, signal, (e) => {
      if (!(e instanceof SmbStatus)) return undefined;
      if (DENIED.test(e.status)) {
        return new SecureFileError(
          'MFP_STORE_ERR_DENIED',
          `${this.address} refused ${this.options.username} (${e.status}); check the device's username, password and share name`,
          { cause: e },
        );
      }
      if (FULL.test(e.status)) {
        return new SecureFileError(
          'MFP_STORE_ERR_NO_SPACE',
          `${this.address} is full (${e.status}); free some space`,
          {
            cause: e,
          },
        );
      }
      return new SecureFileError('MFP_STORE_ERR_IO', `cannot store to ${this.address}: ${e.status}`, {
        cause: e,
      });
    });
  }
}

/** smbclient reported an NT status: the operation failed on the server's side. */
class SmbStatus extends Error {
  readonly status: string;
  constructor(status: string, output: string) {
    super(`${status}: ${output.trim().slice(0, 500)}`);
    this.status = status;
  }
}
