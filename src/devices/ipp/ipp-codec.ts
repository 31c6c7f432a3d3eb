/**
 * IPP/1.1 message encoding (RFC 8010 §3): the attribute part of requests and responses.
 *
 * Why our own codec and not an npm package: `ipp` (the only widely used one) serializes the
 * whole request, document included, into one Buffer and sends it with a Content-Length, so a
 * 200 MB scan would sit in the RAM of a 512 MB board; it also throws untyped errors on bad
 * input. `ipp-encoder` likewise decodes only whole messages. The attribute part of IPP is a
 * small, fixed binary format; owning it lets the document stream straight from the tunnel
 * into the HTTP request, and lets every malformed reply become a typed error.
 */

/** Delimiter tags that open an attribute group (RFC 8010 §3.5.1). */
export const GroupTag = {
  operation: 0x01,
  job: 0x02,
  endOfAttributes: 0x03,
  printer: 0x04,
  unsupported: 0x05,
} as const;

/** Value tags we encode or interpret (RFC 8010 §3.5.2); others decode as raw bytes. */
export const ValueTag = {
  unsupported: 0x10,
  unknown: 0x12,
  noValue: 0x13,
  integer: 0x21,
  boolean: 0x22,
  enum: 0x23,
  octetString: 0x30,
  dateTime: 0x31,
  resolution: 0x32,
  rangeOfInteger: 0x33,
  begCollection: 0x34,
  textWithLanguage: 0x35,
  nameWithLanguage: 0x36,
  endCollection: 0x37,
  textWithoutLanguage: 0x41,
  nameWithoutLanguage: 0x42,
  keyword: 0x44,
  uri: 0x45,
  uriScheme: 0x46,
  charset: 0x47,
  naturalLanguage: 0x48,
  mimeMediaType: 0x49,
  memberAttrName: 0x4a,
  extension: 0x7f,
} as const;

export type IppCollection = { [member: string]: IppValue[] };
export type IppValue =
  | number
  | boolean
  | string
  | Buffer
  | { lower: number; upper: number }
  | { xres: number; yres: number; units: number }
  | { text: string; language: string }
  | IppCollection;

export interface IppAttribute {
  name: string;
  /** Value tag of the first value; additional values may carry other tags (1setOf of mixed types). */
  tag: number;
  values: IppValue[];
}

export interface IppGroup {
  tag: number;
  attributes: IppAttribute[];
}

export interface IppMessage {
  version: { major: number; minor: number };
  /** operation-id in a request, status-code in a response. */
  code: number;
  requestId: number;
  groups: IppGroup[];
}

export type IppDecodeErrorCode =
  | 'IPP_ERR_TRUNCATED'
  | 'IPP_ERR_BAD_TAG'
  | 'IPP_ERR_BAD_VALUE'
  | 'IPP_ERR_TOO_DEEP';

/** A reply that is not a well-formed IPP message; carries the byte offset where decoding failed. */
export class IppDecodeError extends Error {
  readonly code: IppDecodeErrorCode;
  readonly offset: number;

  constructor(code: IppDecodeErrorCode, offset: number, message: string) {
    super(`${message} at byte ${offset}`);
    this.name = 'IppDecodeError';
    this.code = code;
    this.offset = offset;
  }
}

/** Collections nest; a hostile reply must not recurse us out of stack. */
const MAX_COLLECTION_DEPTH = 16;

// ---------------------------------------------------------------- encoding

/** An attribute to encode: tag plus one or more values of a type that tag can carry. */
export interface IppOutAttribute {
  name: string;
  tag: number;
  values: Array<string | number | boolean>;
}

/** Encodes version, code, request id and groups, ending with end-of-attributes; the document follows it. */
export function encodeMessage(message: {
  code: number;
  requestId: number;
  groups: Array<{ tag: number; attributes: IppOutAttribute[] }>;
  version?: { major: number; minor: number };
}): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(8);
  head.writeUInt8(message.version?.major ?? 1, 0);
  head.writeUInt8(message.version?.minor ?? 1, 1);
  head.writeUInt16BE(message.code, 2);
  head.writeUInt32BE(message.requestId, 4);
  parts.push(head);
  for (const group of message.groups) {
    parts.push(Buffer.from([group.tag]));
    for (const attr of group.attributes) {
      if (attr.values.length === 0) throw new RangeError(`IPP attribute ${attr.name} has no value`);
      attr.values.forEach((value, i) => {
        parts.push(encodeValue(attr.tag, i === 0 ? attr.name : '', value));
      });
    }
  }
  parts.push(Buffer.from([GroupTag.endOfAttributes]));
  return Buffer.concat(parts);
}

function encodeValue(tag: number, name: string, value: string | number | boolean): Buffer {
  let body: Buffer;
  if (tag === ValueTag.integer || tag === ValueTag.enum) {
    if (typeof value !== 'number' || !Number.isInteger(value))
      throw new TypeError(`${name}: integer expected`);
    body = Buffer.alloc(4);
    body.writeInt32BE(value);
  } else if (tag === ValueTag.boolean) {
    body = Buffer.from([value ? 1 : 0]);
  } else if (tag === ValueTag.noValue) {
    body = Buffer.alloc(0);
  } else {
    body = Buffer.from(String(value), 'utf8');
  }
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > 0xffff || body.length > 0xffff)
    throw new RangeError(`${name}: value too long for IPP`);
  const out = Buffer.alloc(1 + 2 + nameBytes.length + 2 + body.length);
  let o = out.writeUInt8(tag, 0);
  o = out.writeUInt16BE(nameBytes.length, o);
  o += nameBytes.copy(out, o);
  o = out.writeUInt16BE(body.length, o);
  body.copy(out, o);
  return out;
}

// ---------------------------------------------------------------- decoding

/** Decodes a whole IPP message (a response body); anything after end-of-attributes is ignored. */
export function decodeMessage(buf: Buffer): IppMessage {
  const r = new Reader(buf);
  const major = r.u8();
  const minor = r.u8();
  const code = r.u16();
  const requestId = r.u32();
  const groups: IppGroup[] = [];
  let group: IppGroup | undefined;
  for (;;) {
    const tagOffset = r.offset;
    const tag = r.u8();
    if (tag === GroupTag.endOfAttributes) break;
    if (tag <= 0x0f) {
      group = { tag, attributes: [] };
      groups.push(group);
      continue;
    }
    if (!group)
      throw new IppDecodeError('IPP_ERR_BAD_TAG', tagOffset, `value tag 0x${hex(tag)} before any group`);
    const { name, value, tag: valueTag } = readAttributeValue(r, tag, 0);
    if (name === '') {
      const last = group.attributes.at(-1);
      if (!last)
        throw new IppDecodeError('IPP_ERR_BAD_VALUE', tagOffset, 'additional value without an attribute');
      last.values.push(value);
    } else {
      group.attributes.push({ name, tag: valueTag, values: [value] });
    }
  }
  return { version: { major, minor }, code, requestId, groups };
}

function readAttributeValue(
  r: Reader,
  tag: number,
  depth: number,
): { name: string; value: IppValue; tag: number } {
  const start = r.offset - 1;
  let valueTag = tag;
  const name = r.string(r.u16());
  const length = r.u16();
  if (valueTag === ValueTag.extension) {
    if (length < 4)
      throw new IppDecodeError('IPP_ERR_BAD_VALUE', start, 'extension tag without its 4-byte type');
    valueTag = r.u32();
    return { name, tag: valueTag, value: r.bytes(length - 4) };
  }
  if (valueTag === ValueTag.begCollection) {
    r.bytes(length);
    return { name, tag: valueTag, value: readCollection(r, depth + 1) };
  }
  if (valueTag === ValueTag.endCollection || valueTag === ValueTag.memberAttrName) {
    throw new IppDecodeError('IPP_ERR_BAD_TAG', start, `tag 0x${hex(valueTag)} outside a collection`);
  }
  return { name, tag: valueTag, value: readScalar(r, valueTag, length, start) };
}

function readScalar(r: Reader, tag: number, length: number, start: number): IppValue {
  const expectLength = (n: number): void => {
    if (length !== n) {
      throw new IppDecodeError(
        'IPP_ERR_BAD_VALUE',
        start,
        `tag 0x${hex(tag)} needs ${n} bytes, got ${length}`,
      );
    }
  };
  switch (tag) {
    case ValueTag.integer:
    case ValueTag.enum:
      expectLength(4);
      return r.i32();
    case ValueTag.boolean:
      expectLength(1);
      return r.u8() !== 0;
    case ValueTag.rangeOfInteger:
      expectLength(8);
      return { lower: r.i32(), upper: r.i32() };
    case ValueTag.resolution:
      expectLength(9);
      return { xres: r.i32(), yres: r.i32(), units: r.u8() };
    case ValueTag.textWithLanguage:
    case ValueTag.nameWithLanguage: {
      const end = r.offset + length;
      const language = r.string(r.u16());
      const text = r.string(r.u16());
      if (r.offset !== end)
        throw new IppDecodeError('IPP_ERR_BAD_VALUE', start, 'bad text-with-language lengths');
      return { text, language };
    }
    case ValueTag.octetString:
    case ValueTag.dateTime:
      return r.bytes(length);
    default:
      // Out-of-band tags (0x10–0x1f) carry no value; the character-string tags (0x40–0x5f) are UTF-8.
      if (tag >= 0x10 && tag <= 0x1f) {
        r.bytes(length);
        return '';
      }
      if (tag >= 0x40 && tag <= 0x5f) return r.string(length);
      return r.bytes(length);
  }
}

function readCollection(r: Reader, depth: number): IppCollection {
  if (depth > MAX_COLLECTION_DEPTH) {
    throw new IppDecodeError(
      'IPP_ERR_TOO_DEEP',
      r.offset,
      `collections nested deeper than ${MAX_COLLECTION_DEPTH}`,
    );
  }
  const collection: IppCollection = {};
  let member: string | undefined;
  for (;;) {
    const start = r.offset;
    const tag = r.u8();
    if (tag === ValueTag.endCollection) {
      r.bytes(r.u16());
      r.bytes(r.u16());
      return collection;
    }
    if (tag <= 0x0f) throw new IppDecodeError('IPP_ERR_TRUNCATED', start, 'collection not closed');
    if (tag === ValueTag.memberAttrName) {
      r.bytes(r.u16());
      member = r.string(r.u16());
      collection[member] = [];
      continue;
    }
    if (member === undefined)
      throw new IppDecodeError('IPP_ERR_BAD_VALUE', start, 'collection value without a member name');
    const { value } = readAttributeValue(r, tag, depth);
    collection[member]?.push(value);
  }
}

class Reader {
  offset = 0;
  private readonly buf: Buffer;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  private need(n: number): void {
    if (this.offset + n > this.buf.length) {
      throw new IppDecodeError(
        'IPP_ERR_TRUNCATED',
        this.offset,
        `message ends after ${this.buf.length} bytes`,
      );
    }
  }

  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.offset++);
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return Buffer.from(v);
  }

  string(n: number): string {
    return this.bytes(n).toString('utf8');
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

// ---------------------------------------------------------------- reading decoded messages

/** The first attribute of that name in the first group with that tag. */
export function findAttribute(message: IppMessage, groupTag: number, name: string): IppAttribute | undefined {
  for (const group of message.groups) {
    if (group.tag !== groupTag) continue;
    const found = group.attributes.find((a) => a.name === name);
    if (found) return found;
  }
  return undefined;
}

/** The values of an attribute that are strings (keywords, text, URIs, MIME types). */
export function stringValues(attr: IppAttribute | undefined): string[] {
  return (attr?.values ?? []).flatMap((v) =>
    typeof v === 'string' ? [v] : typeof v === 'object' && v !== null && 'text' in v ? [String(v.text)] : [],
  );
}

/** The first value of an attribute when it is an integer or enum. */
export function integerValue(attr: IppAttribute | undefined): number | undefined {
  const v = attr?.values[0];
  return typeof v === 'number' ? v : undefined;
}
