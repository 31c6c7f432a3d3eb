import type { Readable } from 'node:stream';
import { SecureFileError } from '../../storage/secure-format.ts';

/** What a remote share is given to store: the sealed file's bytes and the names to try. */
export interface Upload {
  /** The sealed file, header to tag (secure-format.ts). */
  bytes: Readable | AsyncIterable<Buffer>;
  /** The name it is written under first, then renamed from: hidden, unique, never a final name. */
  tempName: string;
  /** The final names in the order to try them; a taken one is never replaced. */
  names: Iterable<string>;
  /** Bytes to write at offset `at` once `bytes` has ended (the length field), for shares that can. */
  patch?: () => { at: number; data: Buffer };
}

/**
 * A file server a NAS speaks, reached from the gateway (SFTP, SMB). A store is all or nothing:
 * the file is written under a temp name and renamed to a free final name, or removed.
 */
export interface RemoteShare {
  /** The share's URL without credentials, for messages and the device registry. */
  readonly address: string;
  /** Whether the share can write at an offset after the end (SFTP); SMB through smbclient cannot. */
  readonly canPatch: boolean;
  /** Stores the upload; resolves with the final name used. Throws SecureFileError. */
  store(upload: Upload, signal: AbortSignal): Promise<string>;
  /** Why nothing can be stored there now (with a fix), or undefined when the share answers. */
  problem(signal: AbortSignal): Promise<string | undefined>;
}

/**
 * A share's failure as a SecureFileError: its own errors pass, anything after an abort says
 * nothing was stored, `specific` maps what the protocol tells apart, and the rest is an I/O error.
 */
export function shareError(
  address: string,
  err: unknown,
  signal: AbortSignal,
  specific: (err: unknown, detail: string) => SecureFileError | undefined,
): SecureFileError {
  if (err instanceof SecureFileError) return err;
  if (signal.aborted) {
    return new SecureFileError(
      'MFP_STORE_ERR_ABORTED',
      `storing to ${address} was aborted; nothing was stored`,
      {
        cause: err,
      },
    );
  }
  const detail = err instanceof Error ? err.message : String(err);
  return (
    specific(err, detail) ??
    new SecureFileError('MFP_STORE_ERR_IO', `cannot store to ${address}: ${detail}`, { cause: err })
  );
}
