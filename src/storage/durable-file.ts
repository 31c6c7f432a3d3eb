/**
 * Durable publishing of a file written in steps (the async twin of atomic-file.ts): a temp file
 * beside the target, fsynced, given its name without ever replacing another file, and the
 * directory fsynced, so a power cut leaves the whole file or none.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, link, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';

/** Errors with which a file system says it has no hard links (vfat, some network shares). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * Fills a new temp file next to the target through fill, fsyncs it and hands it to publish,
 * then fsyncs the directory. The temp file never outlives the call, whatever happens.
 */
export async function throughTempFile<T>(
  dir: string,
  name: string,
  fill: (handle: FileHandle) => Promise<void>,
  publish: (tmp: string) => Promise<T>,
): Promise<T> {
  const tmp = join(dir, `.${name}.partial-${randomBytes(6).toString('hex')}`);
  const handle = await open(tmp, 'wx', 0o600);
  let handleOpen = true;
  try {
    await fill(handle);
    await handle.sync();
    handleOpen = false;
    await handle.close();
    const result = await publish(tmp);
    await syncDirectory(dir);
    return result;
  } finally {
    if (handleOpen) await handle.close().catch(() => {});
    await rm(tmp, { force: true });
  }
}

/** A stream onto a file handle that stays the caller's to sync and close (FileHandle.createWriteStream would own it). */
export function handleWriter(handle: FileHandle): Writable {
  const writeAll = async (data: Buffer): Promise<void> => {
    for (let done = 0; done < data.length; ) done += (await handle.write(data, done)).bytesWritten;
  };
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writeAll(chunk).then(() => callback(), callback);
    },
  });
}

/** Makes a rename or link survive a power cut, as far as the file system lets it. */
async function syncDirectory(dir: string): Promise<void> {
  // Never throws: the file is in place already, and a share that cannot fsync a directory only
  // loses the crash guarantee — failing here would report a stored file as not stored.
  const handle = await open(dir, 'r').catch(() => undefined);
  await handle?.sync().catch(() => {});
  await handle?.close().catch(() => {});
}

/**
 * Gives tmp the name target unless target exists, atomically: a hard link fails rather than
 * replace. On file systems without hard links the name is first claimed with an exclusive create
 * (an empty file shows for an instant) and then replaced by rename.
 */
export async function publishNoClobber(tmp: string, target: string): Promise<boolean> {
  try {
    await link(tmp, target);
    return true;
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code ?? '';
    if (errno === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(errno)) throw err;
  }
  try {
    await (await open(target, 'wx', 0o600)).close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await rename(tmp, target);
    return true;
  } catch (err) {
    await rm(target, { force: true });
    throw err;
  }
}
