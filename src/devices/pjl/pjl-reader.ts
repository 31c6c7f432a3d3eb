/**
 * Splits the bytes a printer sends back on a PJL channel into messages. Every PJL reply and
 * unsolicited status is `@PJL <words>\r\n<lines>\r\n` terminated by a form feed (0x0C).
 * A small state machine over the byte stream, in the manner of ws's Receiver: it never
 * buffers more than maxMessageBytes and rejects anything that is not PJL with a typed error.
 */

export type PjlParseErrorCode = 'PJL_ERR_GARBAGE' | 'PJL_ERR_TOO_LONG' | 'PJL_ERR_BAD_FIELD';

export class PjlParseError extends Error {
  readonly code: PjlParseErrorCode;

  constructor(code: PjlParseErrorCode, message: string) {
    super(message);
    this.name = 'PjlParseError';
    this.code = code;
  }
}

/** One PJL message from the printer. */
export interface PjlMessage {
  /** First line's words after @PJL, e.g. ['USTATUS', 'JOB'] or ['INFO', 'STATUS']. */
  header: string[];
  /** KEY=VALUE lines, quotes removed from quoted values. */
  fields: Record<string, string>;
  /** Lines that are not KEY=VALUE (e.g. END, START, a bare page count). */
  words: string[];
}

const FF = 0x0c;
const PREFIX = '@PJL';

/** Bytes skipped before a message's `@PJL` (printers pad with them). */
const BLANK = new Set([0x0d, 0x0a, 0x00, 0x20]);

export class PjlReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The message's first non-blank characters, until they are known to be `@PJL`. */
  private head = '';
  private readonly maxMessageBytes: number;

  constructor(options: { maxMessageBytes?: number } = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? 8192;
  }

  /** Feeds bytes; returns the messages they complete. Throws PjlParseError on garbage. */
  push(chunk: Buffer): PjlMessage[] {
    const out: PjlMessage[] = [];
    let start = 0;
    for (let i = chunk.indexOf(FF); i !== -1; i = chunk.indexOf(FF, start)) {
      this.append(chunk.subarray(start, i));
      const raw = Buffer.concat(this.pending, this.pendingBytes).toString('latin1');
      this.pending = [];
      this.pendingBytes = 0;
      this.head = '';
      start = i + 1;
      const message = parseMessage(raw);
      if (message) out.push(message);
    }
    this.append(chunk.subarray(start));
    return out;
  }

  private append(part: Buffer): void {
    if (part.length === 0) return;
    this.pendingBytes += part.length;
    if (this.pendingBytes > this.maxMessageBytes) {
      throw new PjlParseError(
        'PJL_ERR_TOO_LONG',
        `PJL reply longer than ${this.maxMessageBytes} bytes without a form feed`,
      );
    }
    this.pending.push(part);
    this.checkPrefix(part);
  }

  /**
   * Fails early on a reply that cannot become PJL, instead of waiting for a form feed that
   * never comes. Looks at each byte once, and only until the `@PJL` is seen: a reply read
   * byte by byte costs linear time, not a copy of all that came before per byte (issue 13,
   * finding 15).
   */
  private checkPrefix(part: Buffer): void {
    for (let i = 0; i < part.length && this.head.length < PREFIX.length; i++) {
      const byte = part[i] as number;
      if (this.head === '' && BLANK.has(byte)) continue;
      this.head += String.fromCharCode(byte);
      if (this.head !== PREFIX.slice(0, this.head.length)) {
        const shown = Buffer.concat(this.pending, this.pendingBytes)
          .toString('latin1')
          .replace(/^[\r\n\0 ]+/, '');
        throw new PjlParseError(
          'PJL_ERR_GARBAGE',
          `reply does not start with @PJL: ${JSON.stringify(shown.slice(0, 40))}`,
        );
      }
    }
  }
}

function parseMessage(raw: string): PjlMessage | undefined {
  const lines = raw
    .split(/\r?\n/)
    .map((l) => l.replace(/^\0+/, '').trim())
    .filter((l) => l !== '');
  const first = lines.shift();
  if (first === undefined) return undefined;
  if (!first.startsWith(`${PREFIX} `) && first !== PREFIX) {
    throw new PjlParseError(
      'PJL_ERR_GARBAGE',
      `reply does not start with @PJL: ${JSON.stringify(first.slice(0, 40))}`,
    );
  }
  const header = first
    .slice(PREFIX.length)
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => w.toUpperCase());
  const fields: Record<string, string> = {};
  const words: string[] = [];
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq === -1) {
      words.push(line);
      continue;
    }
    const key = line.slice(0, eq).trim().toUpperCase();
    let value = line.slice(eq + 1).trim();
    if (!/^[A-Z][A-Z0-9_]*$/.test(key)) {
      throw new PjlParseError('PJL_ERR_BAD_FIELD', `bad PJL field name ${JSON.stringify(key.slice(0, 40))}`);
    }
    if (value.startsWith('"')) {
      if (!value.endsWith('"') || value.length < 2) {
        throw new PjlParseError('PJL_ERR_BAD_FIELD', `unterminated quoted value of ${key}`);
      }
      value = value.slice(1, -1);
    }
    fields[key] = value;
  }
  return { header, fields, words };
}
