/**
 * Secure storage in a local directory (a NAS share mounted on the gateway): documents sealed in
 * the format of secure-format.ts and published durably (durable-file.ts); and the way back.
 */
import { createHash } from 'node:crypto';
import { type FileHandle, lstat, open, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { handleWriter, publishNoClobber, throughTempFile } from './durable-file.ts';
import {
  assertStorageKey,
  LENGTH_OFFSET,
  lengthField,
  MAX_COPIES,
  measured,
  SecureFileError,
  SecureFileReader,
  sealed,
  storageNameProblem,
  storedNames,
} from './secure-format.ts';

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);

/** Wraps a file system error with what was being done; SecureFileErrors pass unchanged. */
export function fileSystemError(err: unknown, what: string): SecureFileError {
  if (err instanceof SecureFileError) return err;
  const errno = (err as NodeJS.ErrnoException).code ?? '';
  const detail = err instanceof Error ? err.message : String(err);
  if (NO_SPACE.has(errno)) {
    return new SecureFileError(
      'MFP_STORE_ERR_NO_SPACE',
      `${what}: no space left (${detail}); free some space`,
      {
        cause: err,
      },
    );
  }
  return new SecureFileError('MFP_STORE_ERR_IO', `${what}: ${detail}`, { cause: err });
}

/**
 * Encrypts source into `<dir>/<name>.enc` (or `<name>-1.enc`, `-2` … when taken; nothing is
 * ever overwritten). The file appears whole or not at all: on any error or abort nothing is left.
 * bytes and sha256 are of the plaintext.
 */
export async function writeEncryptedFile(
  source: Readable,
  dir: string,
  name: string,
  key: Buffer,
  signal?: AbortSignal,
): Promise<{ path: string; bytes: number; sha256: string }> {
  assertStorageKey(key);
  const problem = storageNameProblem(name);
  if (problem !== undefined) {
    throw new SecureFileError(
      'MFP_STORE_ERR_BAD_NAME',
      `cannot store a file under a name that ${problem}; give a plain file name`,
    );
  }
  const tally = { bytes: 0, hash: createHash('sha256') };
  try {
    signal?.throwIfAborted();
    const path = await throughTempFile(
      dir,
      name,
      async (handle) => {
        await pipeline(sealed(measured(source, tally), key), handleWriter(handle), { signal });
        const length = lengthField(tally.bytes);
        await handle.write(length, 0, length.length, LENGTH_OFFSET);
      },
      async (tmp) => {
        for (const stored of storedNames(name)) {
          const target = join(dir, stored);
          if (await publishNoClobber(tmp, target)) return target;
        }
        throw new SecureFileError(
          'MFP_STORE_ERR_EXISTS',
          `${name}.enc and ${MAX_COPIES - 1} numbered copies of it already exist in ${dir}; move some away`,
        );
      },
    );
    return { path, bytes: tally.bytes, sha256: tally.hash.digest('hex') };
  } catch (err) {
    // Whichever stage failed, the sender must learn the document was not taken (a no-op if already destroyed).
    source.destroy();
    if (signal?.aborted) {
      throw new SecureFileError(
        'MFP_STORE_ERR_ABORTED',
        `storing ${name} was aborted after ${tally.bytes} bytes; nothing was stored`,
        { cause: err },
      );
    }
    throw fileSystemError(err, `cannot store ${name} in ${dir}`);
  }
}

/**
 * Decrypts inputPath into outputPath, streaming. The output appears only once the whole file has
 * verified; on a wrong key, a changed or cut-off file nothing is left. An existing output is an
 * error unless overwrite is set.
 */
export async function decryptFile(
  inputPath: string,
  outputPath: string,
  key: Buffer,
  options: { overwrite?: boolean } = {},
): Promise<{ bytes: number }> {
  const reader = new SecureFileReader(key);
  const exists = (): SecureFileError =>
    new SecureFileError(
      'MFP_STORE_ERR_EXISTS',
      `${outputPath} already exists; choose another output or allow overwriting it`,
    );
  // Checked first as well as at the end, so a taken name does not cost a long decryption.
  if (
    !options.overwrite &&
    (await lstat(outputPath).then(
      () => true,
      () => false,
    ))
  )
    throw exists();
  let input: FileHandle;
  try {
    input = await open(inputPath, 'r');
  } catch (err) {
    throw fileSystemError(err, `cannot read ${inputPath}`);
  }
  let bytes = 0;
  try {
    await throughTempFile(
      dirname(outputPath),
      basename(outputPath),
      async (handle) => {
        await pipeline(
          input.createReadStream(),
          async function* (ciphertext: AsyncIterable<Buffer>) {
            for await (const chunk of ciphertext) {
              const plain = reader.update(chunk);
              bytes += plain.length;
              yield plain;
            }
            const last = reader.final();
            bytes += last.length;
            yield last;
          },
          handleWriter(handle),
        );
      },
      async (tmp) => {
        if (options.overwrite) await rename(tmp, outputPath);
        else if (!(await publishNoClobber(tmp, outputPath))) throw exists();
      },
    );
    return { bytes };
  } catch (err) {
    throw fileSystemError(err, `cannot decrypt ${inputPath} to ${outputPath}`);
  } finally {
    await input.close().catch(() => {});
  }
}
