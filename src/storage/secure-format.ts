/**
 * The encrypted file format of secure-storage jobs, and streaming encryption into and out of it
 * (docs/secure-storage.md); where the sealed bytes go is the caller's (secure-file.ts: a local
 * directory; devices/storage: an SFTP or SMB share). One AES-256-GCM message per file; integers are big-endian:
 *
 *   offset  size  field
 *   0       8     magic "MFPGWENC"
 *   8       1     version = 1
 *   9       12    nonce, random per file
 *   21      8     key id: the first 8 bytes of SHA-256("mfp-gateway storage key id\0" || key)
 *   29      8     plaintext length (u64), written last
 *   37      n     ciphertext (n = plaintext length)
 *   37+n    16    GCM tag
 *
 * Bytes 0..29 are the GCM additional data, so the header cannot be changed unnoticed. The length
 * cannot be: it is only known once the document has streamed through, after the additional data
 * is fixed. It serves to tell a cut-off copy from a changed one, and is checked against the
 * authenticated ciphertext, so a changed length can only make a file be refused, never accepted.
 *
 * Neither direction buffers a file: memory stays at a stream chunk whatever the file's size.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  type DecipherGCM,
  type Hash,
  randomBytes,
} from 'node:crypto';
import type { Readable } from 'node:stream';

const MAGIC = Buffer.from('MFPGWENC', 'latin1');
const VERSION = 1;
const NONCE_LENGTH = 12;
const KEY_ID_LENGTH = 8;
const KEY_LENGTH = 32;
const TAG_LENGTH = 16;
const VERSION_OFFSET = MAGIC.length;
const NONCE_OFFSET = VERSION_OFFSET + 1;
const KEY_ID_OFFSET = NONCE_OFFSET + NONCE_LENGTH;
export const LENGTH_OFFSET = KEY_ID_OFFSET + KEY_ID_LENGTH;
const HEADER_LENGTH = LENGTH_OFFSET + 8;
const KEY_ID_CONTEXT = Buffer.from('mfp-gateway storage key id\0', 'latin1');
const CIPHER = 'aes-256-gcm';

/** Longest stored name in UTF-8 bytes: leaves room for the temp prefix and "-999.enc" under NAME_MAX (255). */
const MAX_NAME_BYTES = 200;
/** How many numbered copies (`name-1.enc` … ) are tried before a store gives up. */
export const MAX_COPIES = 1000;
const EMPTY = Buffer.alloc(0);

/** Stable codes of every secure-storage error; callers switch on these, never on messages. */
export const SECURE_FILE_ERROR_CODES = [
  /** The key is not 32 bytes, or its text is not base64 or hex of 32 bytes. */
  'MFP_STORE_ERR_BAD_KEY',
  /** A file name with a path separator, "..", a control character, a leading dot, or too long. */
  'MFP_STORE_ERR_BAD_NAME',
  /** The output (or every numbered alternative of it) already exists. */
  'MFP_STORE_ERR_EXISTS',
  /** The document stream failed before its end; nothing was stored. */
  'MFP_STORE_ERR_SOURCE',
  /** The caller aborted; nothing was stored. */
  'MFP_STORE_ERR_ABORTED',
  /** The file system is full or over quota. */
  'MFP_STORE_ERR_NO_SPACE',
  /** Any other file system error (missing directory, permissions, I/O error), or a share that cannot be reached. */
  'MFP_STORE_ERR_IO',
  /** A file server refused the login, or its identity (SFTP host key) is not the one configured. */
  'MFP_STORE_ERR_DENIED',
  /** The input does not start with the format's magic. */
  'MFP_STORE_ERR_NOT_ENCRYPTED',
  /** The input is of a format version this gateway does not know. */
  'MFP_STORE_ERR_UNSUPPORTED_VERSION',
  /** The input was encrypted with another key (its key id differs). */
  'MFP_STORE_ERR_WRONG_KEY',
  /** The input was changed after it was written: the GCM tag does not verify. */
  'MFP_STORE_ERR_TAMPERED',
  /** The input ends before the length it was written with. */
  'MFP_STORE_ERR_TRUNCATED',
] as const;

export type SecureFileErrorCode = (typeof SECURE_FILE_ERROR_CODES)[number];

/** An error of secure storage: a value with a stable code and a message that says what to do. */
export class SecureFileError extends Error {
  readonly code: SecureFileErrorCode;

  constructor(code: SecureFileErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecureFileError';
    this.code = code;
  }
}

/** Parses a storage key given as base64 or hex of exactly 32 bytes; surrounding whitespace is ignored. */
export function parseStorageKey(text: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(trimmed)) return Buffer.from(trimmed, 'base64');
  // Never echo the text: it may be a real key with a typo.
  throw new SecureFileError(
    'MFP_STORE_ERR_BAD_KEY',
    `the storage key is not 32 bytes in base64 (44 characters) or hex (64 characters); it has ${trimmed.length} characters. ` +
      'Make one with "openssl rand -base64 32"',
  );
}

/** Throws MFP_STORE_ERR_BAD_KEY unless key is an AES-256 key (32 bytes). */
export function assertStorageKey(key: Buffer): void {
  if (key.length !== KEY_LENGTH) {
    throw new SecureFileError(
      'MFP_STORE_ERR_BAD_KEY',
      `the storage key has ${key.length} bytes; AES-256 needs ${KEY_LENGTH}`,
    );
  }
}

/** Why name cannot be a stored file's name, or undefined when it can. */
export function storageNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name.startsWith('.')) return 'starts with a dot';
  if (/[/\\]/.test(name)) return 'contains a path separator';
  if (name.includes('..')) return 'contains ".."';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\x00-\x1f\x7f]/.test(name)) return 'contains a control character';
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `is longer than ${MAX_NAME_BYTES} bytes`;
  return undefined;
}

function keyId(key: Buffer): Buffer {
  return createHash('sha256').update(KEY_ID_CONTEXT).update(key).digest().subarray(0, KEY_ID_LENGTH);
}

/**
 * Decrypts the format as its bytes arrive: a state machine over header, body and tag. The tag
 * ends the file, so the last TAG_LENGTH bytes seen are always held back from the decipher.
 * update() returns plaintext that is not verified until final() returns without throwing.
 */
export class SecureFileReader {
  private readonly key: Buffer;
  private header = EMPTY;
  private decipher: DecipherGCM | undefined;
  private declaredLength = 0;
  private held = EMPTY;
  private bodyBytes = 0;

  constructor(key: Buffer) {
    assertStorageKey(key);
    this.key = key;
  }

  /** Takes the next bytes of the file; returns the plaintext they complete. */
  update(chunk: Buffer): Buffer {
    let body = chunk;
    if (!this.decipher) {
      const wanted = HEADER_LENGTH - this.header.length;
      this.header = Buffer.concat([this.header, chunk.subarray(0, wanted)]);
      this.checkPrefix();
      if (this.header.length < HEADER_LENGTH) return EMPTY;
      this.decipher = this.openHeader();
      body = chunk.subarray(wanted);
    }
    const joined = this.held.length > 0 ? Buffer.concat([this.held, body]) : body;
    const release = joined.length - TAG_LENGTH;
    if (release <= 0) {
      this.held = Buffer.from(joined);
      return EMPTY;
    }
    this.held = Buffer.from(joined.subarray(release));
    this.bodyBytes += release;
    return this.decipher.update(joined.subarray(0, release));
  }

  /** Ends the file: verifies length and tag, and returns the last plaintext bytes. */
  final(): Buffer {
    if (!this.decipher) {
      if (this.header.length < MAGIC.length) {
        throw new SecureFileError(
          'MFP_STORE_ERR_NOT_ENCRYPTED',
          `the file has ${this.header.length} bytes, too few to be a secure-storage file`,
        );
      }
      throw truncated(`it ends inside its ${HEADER_LENGTH}-byte header`);
    }
    if (this.held.length < TAG_LENGTH) throw truncated('it ends before its authentication tag');
    if (this.bodyBytes < this.declaredLength) {
      throw truncated(
        `${this.declaredLength - this.bodyBytes} of its ${this.declaredLength} bytes are missing`,
      );
    }
    if (this.bodyBytes > this.declaredLength) {
      throw tampered(`it holds ${this.bodyBytes - this.declaredLength} bytes more than were written`);
    }
    this.decipher.setAuthTag(this.held);
    try {
      return this.decipher.final();
    } catch (err) {
      throw tampered('its authentication tag does not match its content', err);
    }
  }

  /** Refuses a file as early as its first bytes allow, so a wrong file is not read to its end. */
  private checkPrefix(): void {
    const seen = Math.min(this.header.length, MAGIC.length);
    if (!this.header.subarray(0, seen).equals(MAGIC.subarray(0, seen))) {
      throw new SecureFileError(
        'MFP_STORE_ERR_NOT_ENCRYPTED',
        'the file is not a secure-storage file (it does not start with "MFPGWENC"); it may be stored unencrypted',
      );
    }
    const version = this.header[VERSION_OFFSET];
    if (version !== undefined && version !== VERSION) {
      throw new SecureFileError(
        'MFP_STORE_ERR_UNSUPPORTED_VERSION',
        `the file is of format version ${version}; this gateway reads version ${VERSION} — decrypt it with a newer mfp-gateway`,
      );
    }
  }

  private openHeader(): DecipherGCM {
    const id = this.header.subarray(KEY_ID_OFFSET, LENGTH_OFFSET);
    if (!id.equals(keyId(this.key))) {
      throw new SecureFileError(
        'MFP_STORE_ERR_WRONG_KEY',
        `the file was encrypted with another key (key id ${id.toString('hex')}, this key's is ${keyId(this.key).toString('hex')}); ` +
          "use the storage key of the site's gateway config the file was stored under",
      );
    }
    this.declaredLength = Number(this.header.readBigUInt64BE(LENGTH_OFFSET));
    const nonce = this.header.subarray(NONCE_OFFSET, KEY_ID_OFFSET);
    const decipher = createDecipheriv(CIPHER, this.key, nonce, { authTagLength: TAG_LENGTH });
    decipher.setAAD(this.header.subarray(0, LENGTH_OFFSET));
    return decipher;
  }
}

function truncated(detail: string): SecureFileError {
  return new SecureFileError(
    'MFP_STORE_ERR_TRUNCATED',
    `the file is cut short: ${detail}; it was probably copied incompletely — copy it again`,
  );
}

function tampered(detail: string, cause?: unknown): SecureFileError {
  return new SecureFileError(
    'MFP_STORE_ERR_TAMPERED',
    `the file was changed after it was written: ${detail}; nothing was decrypted — restore it from a good copy`,
    { cause },
  );
}

/** Plaintext of one stored document, counted and hashed as it passes; errors of the source are named as such. */
export async function* measured(
  source: Readable,
  tally: { bytes: number; hash: Hash },
): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of source) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      tally.hash.update(buf);
      tally.bytes += buf.length;
      yield buf;
    }
  } catch (err) {
    throw new SecureFileError(
      'MFP_STORE_ERR_SOURCE',
      `the document stream failed after ${tally.bytes} bytes (${err instanceof Error ? err.message : String(err)}); nothing was stored — send it again`,
      { cause: err },
    );
  }
}

/**
 * The file from header to tag. With declaredLength the length field is written at once (for a
 * target that cannot seek back); otherwise it stays zero until the caller patches it with lengthField.
 */
export async function* sealed(
  plaintext: AsyncIterable<Buffer>,
  key: Buffer,
  declaredLength?: number,
): AsyncGenerator<Buffer> {
  const header = Buffer.alloc(HEADER_LENGTH);
  MAGIC.copy(header, 0);
  header[VERSION_OFFSET] = VERSION;
  const nonce = randomBytes(NONCE_LENGTH);
  nonce.copy(header, NONCE_OFFSET);
  keyId(key).copy(header, KEY_ID_OFFSET);
  if (declaredLength !== undefined) header.writeBigUInt64BE(BigInt(declaredLength), LENGTH_OFFSET);
  const cipher = createCipheriv(CIPHER, key, nonce, { authTagLength: TAG_LENGTH });
  cipher.setAAD(header.subarray(0, LENGTH_OFFSET));
  yield header;
  for await (const chunk of plaintext) yield cipher.update(chunk);
  yield cipher.final();
  yield cipher.getAuthTag();
}

/** The 8-byte length field for a document of `bytes` plaintext bytes, written at LENGTH_OFFSET. */
export function lengthField(bytes: number): Buffer {
  const field = Buffer.alloc(8);
  field.writeBigUInt64BE(BigInt(bytes));
  return field;
}

/** The names a document called `name` is stored under, in the order they are tried: name.enc, name-1.enc … */
export function* storedNames(name: string): Generator<string> {
  for (let copy = 0; copy < MAX_COPIES; copy++) yield copy === 0 ? `${name}.enc` : `${name}-${copy}.enc`;
}
