import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt cost as log2(N): 2^14 × 128 × r = 16 MiB and ~0.1 s per try on a Pi 4. */
const DEFAULT_LOG_N = 14;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** Highest cost accepted from a stored hash, so a hand-edited one cannot exhaust memory. */
const MAX_LOG_N = 17;

/** `$scrypt$ln=14,r=8,p=1$<salt>$<hash>` (base64, no padding), in the style of PHC strings. */
const FORMAT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,})\$([A-Za-z0-9+/]{32,})$/;

/** What a valid password hash looks like, for the config schema's error message. */
export const PASSWORD_HASH_EXPECTED =
  'a scrypt hash "$scrypt$ln=14,r=8,p=1$…$…" (make one: mfp-gateway hash-password)';

function derive(password: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  const options: ScryptOptions = { N: 2 ** logN, r, p, maxmem: 256 * 2 ** logN * r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, options, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** Whether text is a password hash this module can verify. */
export function isPasswordHash(text: string): boolean {
  const m = FORMAT.exec(text);
  return m !== null && Number(m[1]) >= 10 && Number(m[1]) <= MAX_LOG_N;
}

/** Hashes a password with a fresh salt. */
export async function hashPassword(password: string, logN = DEFAULT_LOG_N): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, logN, BLOCK_SIZE, PARALLELISM);
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${logN},r=${BLOCK_SIZE},p=${PARALLELISM}$${b64(salt)}$${b64(key)}`;
}

/** True when password matches the hash; false for a wrong password or an unusable hash. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const m = FORMAT.exec(hash);
  if (!m || !isPasswordHash(hash)) return false;
  const expected = Buffer.from(m[5] as string, 'base64');
  const key = await derive(
    password,
    Buffer.from(m[4] as string, 'base64'),
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
  );
  return key.length === expected.length && timingSafeEqual(key, expected);
}
