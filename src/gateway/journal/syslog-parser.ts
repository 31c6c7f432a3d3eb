/** One SD-ELEMENT of a syslog message: its SD-ID and its parameters in order (names may repeat). */
export interface StructuredElement {
  id: string;
  params: Array<{ name: string; value: string }>;
}

/** A syslog message as RFC 5424 defines it; NILVALUE ("-") fields are null. */
export interface SyslogMessage {
  facility: number;
  /** 0 emergency … 7 debug. */
  severity: number;
  /** TIMESTAMP in ms since the epoch (sub-millisecond digits dropped), as the device's clock says. */
  timestamp: number | null;
  hostname: string | null;
  appName: string | null;
  procId: string | null;
  msgId: string | null;
  structuredData: StructuredElement[];
  /** MSG decoded as UTF-8 (BOM removed); "" when absent. */
  message: string;
}

/** Stable codes for what a sender can get wrong in an RFC 5424 message. */
export type SyslogErrorCode =
  | 'MFP_SYSLOG_ERR_EMPTY'
  | 'MFP_SYSLOG_ERR_BAD_PRI'
  | 'MFP_SYSLOG_ERR_BAD_VERSION'
  | 'MFP_SYSLOG_ERR_BAD_TIMESTAMP'
  | 'MFP_SYSLOG_ERR_BAD_HEADER_FIELD'
  | 'MFP_SYSLOG_ERR_BAD_STRUCTURED_DATA'
  | 'MFP_SYSLOG_ERR_BAD_UTF8';

/** A malformed syslog message: returned as a value, never thrown. */
export class SyslogParseError extends Error {
  readonly code: SyslogErrorCode;

  constructor(code: SyslogErrorCode, message: string) {
    super(message);
    this.name = 'SyslogParseError';
    this.code = code;
  }
}

const SP = 0x20;
const NIL = 0x2d; // '-'
const BOM = [0xef, 0xbb, 0xbf];
const MAX_PRIVAL = 191;
/** Longest HOSTNAME, APP-NAME, PROCID, MSGID (RFC 5424 section 6). */
const FIELD_LIMITS = [
  ['HOSTNAME', 255],
  ['APP-NAME', 48],
  ['PROCID', 128],
  ['MSGID', 32],
] as const;
const SD_NAME_MAX = 32;
const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:\d{2})$/;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

const isPrintUsAscii = (byte: number) => byte >= 33 && byte <= 126;
const isSdNameChar = (byte: number) =>
  isPrintUsAscii(byte) && byte !== 0x3d && byte !== 0x5d && byte !== 0x22;
const isDigit = (byte: number) => byte >= 0x30 && byte <= 0x39;

/** A cursor over the message bytes; every read checks its bounds. */
class Reader {
  pos = 0;
  readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  peek(): number | undefined {
    return this.bytes[this.pos];
  }

  /** Bytes up to (not including) the next SP or the end. */
  token(): Uint8Array {
    const start = this.pos;
    while (this.pos < this.bytes.length && this.bytes[this.pos] !== SP) this.pos++;
    return this.bytes.subarray(start, this.pos);
  }

  expectSpace(after: string): SyslogParseError | undefined {
    if (this.bytes[this.pos] !== SP) {
      return new SyslogParseError('MFP_SYSLOG_ERR_BAD_HEADER_FIELD', `expected a space after ${after}`);
    }
    this.pos++;
    return undefined;
  }
}

/**
 * Parses one RFC 5424 syslog message strictly (section 6's ABNF; only VERSION 1). BSD syslog
 * (RFC 3164) is refused: its timestamp has no year or zone and its fields are guesswork.
 */
export function parseSyslog(bytes: Uint8Array): SyslogMessage | SyslogParseError {
  if (bytes.length === 0) return new SyslogParseError('MFP_SYSLOG_ERR_EMPTY', 'empty message');
  const r = new Reader(bytes);
  const pri = parsePri(r);
  if (pri instanceof SyslogParseError) return pri;
  const version = r.token();
  if (version.length !== 1 || version[0] !== 0x31) {
    return new SyslogParseError(
      'MFP_SYSLOG_ERR_BAD_VERSION',
      `VERSION must be 1 (RFC 5424), got "${ascii(version)}"; BSD syslog (RFC 3164) is not accepted`,
    );
  }
  const afterVersion = r.expectSpace('VERSION');
  if (afterVersion) return afterVersion;
  const timestamp = parseTimestamp(r.token());
  if (timestamp instanceof SyslogParseError) return timestamp;
  const fields: Array<string | null> = [];
  let previous = 'TIMESTAMP';
  for (const [name, max] of FIELD_LIMITS) {
    const spaced = r.expectSpace(previous);
    if (spaced) return spaced;
    const field = headerField(r.token(), name, max);
    if (field instanceof SyslogParseError) return field;
    fields.push(field);
    previous = name;
  }
  const afterMsgId = r.expectSpace(previous);
  if (afterMsgId) return afterMsgId;
  const structuredData = parseStructuredData(r);
  if (structuredData instanceof SyslogParseError) return structuredData;
  let message = '';
  if (!r.done) {
    const spaced = r.expectSpace('STRUCTURED-DATA');
    if (spaced) return spaced;
    const decoded = decodeMessage(bytes.subarray(r.pos));
    if (decoded instanceof SyslogParseError) return decoded;
    message = decoded;
  }
  const [hostname = null, appName = null, procId = null, msgId = null] = fields;
  return {
    facility: pri >> 3,
    severity: pri & 7,
    timestamp,
    hostname,
    appName,
    procId,
    msgId,
    structuredData,
    message,
  };
}

function parsePri(r: Reader): number | SyslogParseError {
  const bad = (why: string) => new SyslogParseError('MFP_SYSLOG_ERR_BAD_PRI', `PRI ${why}`);
  if (r.peek() !== 0x3c) return bad('missing: a message starts with "<" PRIVAL ">"');
  r.pos++;
  const start = r.pos;
  while (!r.done && isDigit(r.peek() ?? 0) && r.pos - start < 3) r.pos++;
  if (r.pos === start || r.peek() !== 0x3e) return bad('must be 1 to 3 digits between "<" and ">"');
  const value = Number(ascii(r.bytes.subarray(start, r.pos)));
  r.pos++;
  if (value > MAX_PRIVAL) return bad(`must be at most ${MAX_PRIVAL}, got ${value}`);
  return value;
}

function parseTimestamp(token: Uint8Array): number | null | SyslogParseError {
  if (token.length === 1 && token[0] === NIL) return null;
  const text = ascii(token);
  const bad = () =>
    new SyslogParseError(
      'MFP_SYSLOG_ERR_BAD_TIMESTAMP',
      `TIMESTAMP must be "-" or like 2026-01-05T09:30:00.123+01:00, got "${text.slice(0, 40)}"`,
    );
  const m = TIMESTAMP_RE.exec(text);
  if (!m) return bad();
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  // Leap seconds ("60") MUST NOT be used (RFC 5424 section 6.2.3).
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
    return bad();
  }
  let offsetMinutes = 0;
  if (zone && zone !== 'Z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return bad();
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  const millis = frac ? Math.floor(Number(frac.padEnd(6, '0')) / 1000) : 0;
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
}

function headerField(token: Uint8Array, name: string, max: number): string | null | SyslogParseError {
  if (token.length === 1 && token[0] === NIL) return null;
  if (token.length === 0 || token.length > max || !token.every(isPrintUsAscii)) {
    return new SyslogParseError(
      'MFP_SYSLOG_ERR_BAD_HEADER_FIELD',
      `${name} must be "-" or 1 to ${max} printable ASCII characters`,
    );
  }
  return ascii(token);
}

function parseStructuredData(r: Reader): StructuredElement[] | SyslogParseError {
  const bad = (why: string) =>
    new SyslogParseError('MFP_SYSLOG_ERR_BAD_STRUCTURED_DATA', `STRUCTURED-DATA ${why}`);
  if (r.peek() === NIL) {
    r.pos++;
    return [];
  }
  if (r.peek() !== 0x5b) return bad('must be "-" or start with "["');
  const elements: StructuredElement[] = [];
  const seen = new Set<string>();
  while (r.peek() === 0x5b) {
    r.pos++;
    const id = sdName(r);
    if (id === undefined) return bad('element needs an SD-ID of 1 to 32 characters');
    if (seen.has(id)) return bad(`repeats SD-ID "${id}"`);
    seen.add(id);
    const params: StructuredElement['params'] = [];
    while (r.peek() === SP) {
      r.pos++;
      const name = sdName(r);
      if (name === undefined) return bad(`parameter of "${id}" needs a name of 1 to 32 characters`);
      if (r.peek() !== 0x3d || r.bytes[r.pos + 1] !== 0x22) return bad(`parameter "${name}" needs ="value"`);
      r.pos += 2;
      const value = paramValue(r);
      if (value instanceof SyslogParseError) return value;
      params.push({ name, value });
    }
    if (r.peek() !== 0x5d) return bad(`element "${id}" must end with "]"`);
    r.pos++;
    elements.push({ id, params });
  }
  return elements;
}

function sdName(r: Reader): string | undefined {
  const start = r.pos;
  while (!r.done && isSdNameChar(r.peek() ?? 0)) r.pos++;
  const length = r.pos - start;
  return length === 0 || length > SD_NAME_MAX ? undefined : ascii(r.bytes.subarray(start, r.pos));
}

/** A PARAM-VALUE after its opening quote, through its closing quote; `\"`, `\\`, `\]` unescaped. */
function paramValue(r: Reader): string | SyslogParseError {
  const out: number[] = [];
  while (!r.done) {
    const byte = r.peek() ?? 0;
    r.pos++;
    if (byte === 0x22) {
      try {
        return strictUtf8.decode(new Uint8Array(out));
      } catch {
        return new SyslogParseError('MFP_SYSLOG_ERR_BAD_UTF8', 'a PARAM-VALUE is not valid UTF-8');
      }
    }
    if (byte === 0x5d) {
      return new SyslogParseError(
        'MFP_SYSLOG_ERR_BAD_STRUCTURED_DATA',
        'STRUCTURED-DATA: "]" inside a PARAM-VALUE must be escaped as "\\]"',
      );
    }
    const next = r.peek();
    if (byte === 0x5c && (next === 0x22 || next === 0x5c || next === 0x5d)) {
      out.push(next);
      r.pos++;
    } else {
      // Any other backslash is an ordinary character (RFC 5424 section 6.3.3).
      out.push(byte);
    }
  }
  return new SyslogParseError(
    'MFP_SYSLOG_ERR_BAD_STRUCTURED_DATA',
    'STRUCTURED-DATA: a PARAM-VALUE is not closed',
  );
}

/** MSG: with a BOM it must be UTF-8; without one (MSG-ANY) bytes that are not UTF-8 become U+FFFD. */
function decodeMessage(bytes: Uint8Array): string | SyslogParseError {
  if (bytes[0] === BOM[0] && bytes[1] === BOM[1] && bytes[2] === BOM[2]) {
    try {
      return strictUtf8.decode(bytes.subarray(3));
    } catch {
      return new SyslogParseError(
        'MFP_SYSLOG_ERR_BAD_UTF8',
        'MSG starts with a UTF-8 BOM but is not valid UTF-8',
      );
    }
  }
  return lenientUtf8.decode(bytes);
}

function ascii(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}
