import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decryptFile, writeEncryptedFile } from '../../src/storage/secure-file.ts';
import {
  parseStorageKey,
  SecureFileError,
  type SecureFileErrorCode,
  SecureFileReader,
} from '../../src/storage/secure-format.ts';

const HEADER = 37;
const TAG = 16;
const key = randomBytes(32);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The data as a stream of chunks of the given size. */
function chunks(data: Buffer, size = 64 * 1024): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
  return Readable.from(parts);
}

async function rejection(promise: Promise<unknown>): Promise<SecureFileError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SecureFileError);
  return err as SecureFileError;
}

async function expectCode(promise: Promise<unknown>, code: SecureFileErrorCode): Promise<SecureFileError> {
  const err = await rejection(promise);
  expect(err.code, err.message).toBe(code);
  return err;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secure-file-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Stores data as doc.bin and returns the encrypted file's path. */
async function stored(data: Buffer): Promise<string> {
  return (await writeEncryptedFile(chunks(data), dir, 'doc.bin', key)).path;
}

/** Decrypting path must fail with code and leave the directory as it was. */
async function expectRefused(path: string, code: SecureFileErrorCode): Promise<SecureFileError> {
  const before = (await readdir(dir)).sort();
  const err = await expectCode(decryptFile(path, join(dir, 'out.bin'), key), code);
  expect((await readdir(dir)).sort()).toEqual(before);
  return err;
}

describe('secure file round trip', () => {
  it('encrypts a multi-MB file atomically and decrypts it byte-exact', async () => {
    const data = randomBytes(8 * 1024 * 1024 + 123);
    const result = await writeEncryptedFile(chunks(data), dir, 'report.pdf', key);
    expect(result).toEqual({ path: join(dir, 'report.pdf.enc'), bytes: data.length, sha256: sha256(data) });
    const encrypted = await readFile(result.path);
    expect(encrypted.length).toBe(HEADER + data.length + TAG);
    expect(encrypted.subarray(0, 9)).toEqual(Buffer.from('MFPGWENC\x01', 'latin1'));
    expect(encrypted.indexOf(data.subarray(1000, 1032))).toBe(-1);
    expect(statSync(result.path).mode & 0o777).toBe(0o600);

    const out = join(dir, 'report.pdf');
    expect(await decryptFile(result.path, out, key)).toEqual({ bytes: data.length });
    expect(sha256(await readFile(out))).toBe(sha256(data));
    expect((await readdir(dir)).sort()).toEqual(['report.pdf', 'report.pdf.enc']);
  });

  it('round-trips an empty document, and gives the same document a new nonce each time', async () => {
    const a = await writeEncryptedFile(Readable.from([]), dir, 'empty', key);
    expect(a.bytes).toBe(0);
    expect(await decryptFile(a.path, join(dir, 'empty.out'), key)).toEqual({ bytes: 0 });
    expect((await readFile(join(dir, 'empty.out'))).length).toBe(0);

    const data = Buffer.from('same text');
    const one = await readFile((await writeEncryptedFile(chunks(data), dir, 'same', key)).path);
    const two = await readFile((await writeEncryptedFile(chunks(data), dir, 'same', key)).path);
    expect(one.equals(two)).toBe(false);
  });

  it('decrypts the format however its bytes are split into chunks', async () => {
    const data = randomBytes(3000);
    const encrypted = await readFile(await stored(data));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: encrypted.length }), { maxLength: 12 }), (cuts) => {
        const bounds = [0, ...cuts.sort((x, y) => x - y), encrypted.length];
        const reader = new SecureFileReader(key);
        const plain: Buffer[] = [];
        for (let i = 1; i < bounds.length; i++) {
          plain.push(reader.update(encrypted.subarray(bounds[i - 1], bounds[i])));
        }
        plain.push(reader.final());
        expect(Buffer.concat(plain).equals(data)).toBe(true);
      }),
    );
  });

  it('keeps a stream moving at the pace of the disk: the source is never read far ahead of what is written', async () => {
    const total = 64 * 1024 * 1024;
    const chunk = randomBytes(64 * 1024);
    let pulled = 0;
    let maxLead = 0;
    const source = new Readable({
      read() {
        const partial = readdirSync(dir).find((n) => n.startsWith('.big.partial-'));
        const written = partial ? Math.max(0, statSync(join(dir, partial)).size - HEADER) : 0;
        maxLead = Math.max(maxLead, pulled - written);
        if (pulled === total) {
          this.push(null);
          return;
        }
        pulled += chunk.length;
        this.push(chunk);
      },
    });
    const result = await writeEncryptedFile(source, dir, 'big', key);
    expect(result.bytes).toBe(total);
    // Measured: two 64 KiB chunks; a pipeline that buffered would be megabytes ahead.
    expect(maxLead).toBeLessThan(1024 * 1024);
  });
});

describe('secure file refusals', () => {
  it('names a wrong key as such, before reading the file', async () => {
    const path = await stored(randomBytes(10_000));
    const err = await expectCode(
      decryptFile(path, join(dir, 'out.bin'), randomBytes(32)),
      'MFP_STORE_ERR_WRONG_KEY',
    );
    expect(err.message).toMatch(/another key/);
    expect(await readdir(dir)).toEqual(['doc.bin.enc']);
  });

  it('refuses a file with one flipped byte anywhere: ciphertext, nonce or tag', async () => {
    const data = randomBytes(300_000);
    const path = await stored(data);
    const original = await readFile(path);
    for (const at of [HEADER + 150_000, HEADER, 9, original.length - 1]) {
      const changed = Buffer.from(original);
      changed[at] = (changed[at] ?? 0) ^ 0x01;
      await writeFile(path, changed);
      const err = await expectRefused(path, 'MFP_STORE_ERR_TAMPERED');
      expect(err.message).toMatch(/changed after it was written/);
    }
  });

  it('refuses a file with bytes appended', async () => {
    const path = await stored(randomBytes(1000));
    await writeFile(path, Buffer.concat([await readFile(path), Buffer.from('x')]));
    await expectRefused(path, 'MFP_STORE_ERR_TAMPERED');
  });

  it('tells a cut-off file from a changed one, wherever it was cut', async () => {
    const path = await stored(randomBytes(200_000));
    const original = await readFile(path);
    for (const length of [original.length - 1, original.length - TAG, 100_000, HEADER + 5, HEADER, 20, 8]) {
      await writeFile(path, original.subarray(0, length));
      const err = await expectRefused(path, 'MFP_STORE_ERR_TRUNCATED');
      expect(err.message).toMatch(/cut short/);
    }
  });

  it('says a file is not encrypted when it is not of the format', async () => {
    const plain = join(dir, 'plain.pdf');
    await writeFile(plain, '%PDF-1.7\n'.repeat(1000));
    const err = await expectRefused(plain, 'MFP_STORE_ERR_NOT_ENCRYPTED');
    expect(err.message).toMatch(/not a secure-storage file/);
    await writeFile(plain, '');
    await expectRefused(plain, 'MFP_STORE_ERR_NOT_ENCRYPTED');
    await writeFile(plain, 'MFPG');
    await expectRefused(plain, 'MFP_STORE_ERR_NOT_ENCRYPTED');
  });

  it('refuses a format version it does not know', async () => {
    const path = await stored(Buffer.from('hello'));
    const changed = await readFile(path);
    changed[8] = 2;
    await writeFile(path, changed);
    await expectRefused(path, 'MFP_STORE_ERR_UNSUPPORTED_VERSION');
  });

  it('reports a missing input as a file system error naming it', async () => {
    const err = await expectRefused(join(dir, 'missing.enc'), 'MFP_STORE_ERR_IO');
    expect(err.message).toContain('missing.enc');
  });

  it('does not overwrite an existing output unless asked to', async () => {
    const data = Buffer.from('secret document');
    const path = await stored(data);
    const out = join(dir, 'out.bin');
    await writeFile(out, 'keep me');
    await expectCode(decryptFile(path, out, key), 'MFP_STORE_ERR_EXISTS');
    expect(await readFile(out, 'utf8')).toBe('keep me');
    await decryptFile(path, out, key, { overwrite: true });
    expect(await readFile(out)).toEqual(data);
    expect((await readdir(dir)).sort()).toEqual(['doc.bin.enc', 'out.bin']);
  });
});

describe('secure file store', () => {
  it('never overwrites: a taken name gets -1, -2, … and each copy keeps its own content', async () => {
    const docs = [Buffer.from('first'), Buffer.from('second'), Buffer.from('third')];
    const paths: string[] = [];
    for (const d of docs) paths.push((await writeEncryptedFile(chunks(d), dir, 'scan.pdf', key)).path);
    expect(paths).toEqual(['scan.pdf.enc', 'scan.pdf-1.enc', 'scan.pdf-2.enc'].map((n) => join(dir, n)));
    for (const [i, path] of paths.entries()) {
      await decryptFile(path, join(dir, `out-${i}`), key);
      expect(await readFile(join(dir, `out-${i}`))).toEqual(docs[i]);
    }
  });

  it('leaves nothing behind when aborted mid-stream, and stops reading the source', async () => {
    const controller = new AbortController();
    let reads = 0;
    let partialSeen: string[] = [];
    const source = new Readable({
      read() {
        reads++;
        if (reads === 16) {
          partialSeen = readdirSync(dir);
          controller.abort();
          return;
        }
        this.push(randomBytes(64 * 1024));
      },
    });
    const err = await expectCode(
      writeEncryptedFile(source, dir, 'doc.pdf', key, controller.signal),
      'MFP_STORE_ERR_ABORTED',
    );
    expect(err.message).toMatch(/nothing was stored/);
    expect(partialSeen).toEqual([expect.stringMatching(/^\.doc\.pdf\.partial-[0-9a-f]+$/)]);
    expect(await readdir(dir)).toEqual([]);
    expect(source.destroyed).toBe(true);
  });

  it('stores nothing when the signal is aborted before it starts', async () => {
    await expectCode(
      writeEncryptedFile(chunks(Buffer.from('x')), dir, 'doc', key, AbortSignal.abort()),
      'MFP_STORE_ERR_ABORTED',
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('names a failing document stream and leaves nothing behind', async () => {
    let reads = 0;
    const source = new Readable({
      read() {
        if (++reads === 4) this.destroy(new Error('tunnel closed'));
        else this.push(randomBytes(64 * 1024));
      },
    });
    const err = await expectCode(writeEncryptedFile(source, dir, 'doc', key), 'MFP_STORE_ERR_SOURCE');
    expect(err.message).toMatch(/document stream failed after 196608 bytes \(tunnel closed\)/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses names that could leave the directory, hide, or break the file system', async () => {
    await mkdir(join(dir, 'target'));
    const target = join(dir, 'target');
    const bad = [
      '',
      '.hidden',
      '..',
      '../escape',
      'a/b',
      'a\\b',
      'a..b',
      'nul\0byte',
      'line\nbreak',
      'x'.repeat(201),
    ];
    for (const name of bad) {
      const err = await expectCode(
        writeEncryptedFile(chunks(Buffer.from('x')), target, name, key),
        'MFP_STORE_ERR_BAD_NAME',
      );
      expect(err.message).toMatch(/cannot store a file under a name that .+; give a plain file name/);
    }
    expect(await readdir(dir)).toEqual(['target']);
    expect(await readdir(target)).toEqual([]);
  });

  it('reports a missing directory as a file system error', async () => {
    const err = await expectCode(
      writeEncryptedFile(chunks(Buffer.from('x')), join(dir, 'gone'), 'doc', key),
      'MFP_STORE_ERR_IO',
    );
    expect(err.message).toContain(join(dir, 'gone'));
  });

  it('refuses a key that is not 32 bytes', async () => {
    await expectCode(
      writeEncryptedFile(chunks(Buffer.from('x')), dir, 'doc', randomBytes(16)),
      'MFP_STORE_ERR_BAD_KEY',
    );
    expect(() => new SecureFileReader(randomBytes(31))).toThrow(SecureFileError);
  });
});

describe('parseStorageKey', () => {
  it('accepts 32 bytes as base64 or hex, ignoring surrounding whitespace', () => {
    const bytes = randomBytes(32);
    expect(parseStorageKey(`${bytes.toString('base64')}\n`)).toEqual(bytes);
    expect(parseStorageKey(bytes.toString('base64').replace(/=$/, ''))).toEqual(bytes);
    expect(parseStorageKey(`  ${bytes.toString('hex')}  `)).toEqual(bytes);
    expect(parseStorageKey(bytes.toString('hex').toUpperCase())).toEqual(bytes);
  });

  it('refuses anything else with a typed error that never repeats the text', () => {
    const bad = [
      '',
      'secret-password',
      randomBytes(31).toString('base64'),
      randomBytes(33).toString('base64'),
      randomBytes(31).toString('hex'),
      randomBytes(33).toString('hex'),
      `${randomBytes(32).toString('base64').slice(0, 40)}!!!=`,
      randomBytes(32).toString('base64url').replace(/.$/, '-'),
    ];
    for (const text of bad) {
      let thrown: unknown;
      try {
        parseStorageKey(text);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, text).toBeInstanceOf(SecureFileError);
      const err = thrown as SecureFileError;
      expect(err.code).toBe('MFP_STORE_ERR_BAD_KEY');
      expect(err.message).toMatch(/base64.*hex/);
      if (text.length > 0) expect(err.message).not.toContain(text);
    }
  });
});
