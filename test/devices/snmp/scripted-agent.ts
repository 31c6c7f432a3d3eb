import { createSocket } from 'node:dgram';

/**
 * A raw UDP "agent" for the malformed-reply tests: it decodes just enough of each request
 * (BER by hand, independent of net-snmp) to answer with whatever bytes a test scripts —
 * garbage, a well-formed GetResponse with wrong types, exceptions, a wrong varbind count.
 */

export interface RawRequest {
  community: string;
  /** PDU tag: 0xa0 GetRequest, 0xa1 GetNextRequest, 0xa5 GetBulkRequest. */
  pduType: number;
  requestId: number;
  oids: string[];
}

export interface ScriptedAgent {
  port: number;
  /** Requests received so far. */
  requests: RawRequest[];
  close(): Promise<void>;
}

/** Listens on 127.0.0.1; answer() returns the datagram to send back, or undefined for silence. */
export async function startScriptedAgent(
  answer: (req: RawRequest) => Buffer | undefined,
): Promise<ScriptedAgent> {
  const socket = createSocket('udp4');
  const requests: RawRequest[] = [];
  socket.on('message', (msg, rinfo) => {
    const req = parseRequest(msg);
    requests.push(req);
    const reply = answer(req);
    if (reply) socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    requests,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** BER tags used in replies. */
export const Tag = {
  integer: 0x02,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  counter32: 0x41,
  noSuchObject: 0x80,
} as const;

export interface RawVarbind {
  oid: string;
  tag: number;
  /** Content octets of the value. */
  value: Buffer;
}

/** A v2c GetResponse to req carrying exactly these varbinds. */
export function getResponse(req: RawRequest, varbinds: RawVarbind[]): Buffer {
  const vbs = varbinds.map((v) =>
    tlv(0x30, Buffer.concat([tlv(Tag.oid, encodeOid(v.oid)), tlv(v.tag, v.value)])),
  );
  const pdu = tlv(
    0xa2,
    Buffer.concat([integer(req.requestId), integer(0), integer(0), tlv(0x30, Buffer.concat(vbs))]),
  );
  return tlv(0x30, Buffer.concat([integer(1), tlv(Tag.octetString, Buffer.from(req.community)), pdu]));
}

/** Content octets of a two's-complement INTEGER (also fine for small Counter32 values). */
export function intValue(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  for (;;) {
    bytes.unshift(v & 0xff);
    v >>= 8;
    const top = bytes[0] as number;
    if ((v === 0 && (top & 0x80) === 0) || (v === -1 && (top & 0x80) !== 0)) break;
  }
  return Buffer.from(bytes);
}

function integer(n: number): Buffer {
  return tlv(Tag.integer, intValue(n));
}

function tlv(tag: number, body: Buffer): Buffer {
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
}

function encodeOid(oid: string): Buffer {
  const [a = 0, b = 0, ...rest] = oid.split('.').map(Number);
  const out = [40 * a + b];
  for (const arc of rest) {
    const groups = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) groups.unshift((v & 0x7f) | 0x80);
    out.push(...groups);
  }
  return Buffer.from(out);
}

function decodeOid(body: Buffer): string {
  const first = body[0] ?? 0;
  const arcs = [Math.floor(first / 40), first % 40];
  let v = 0;
  for (const byte of body.subarray(1)) {
    v = v * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(v);
      v = 0;
    }
  }
  return arcs.join('.');
}

/** Tag, content start and end of the TLV at offset. */
function readTlv(buf: Buffer, offset: number): { tag: number; start: number; end: number } {
  const tag = buf[offset] as number;
  let len = buf[offset + 1] as number;
  let start = offset + 2;
  if (len & 0x80) {
    const count = len & 0x7f;
    len = 0;
    for (let i = 0; i < count; i++) len = len * 256 + (buf[start + i] as number);
    start += count;
  }
  return { tag, start, end: start + len };
}

function parseRequest(msg: Buffer): RawRequest {
  const message = readTlv(msg, 0);
  const version = readTlv(msg, message.start);
  const community = readTlv(msg, version.end);
  const pdu = readTlv(msg, community.end);
  const requestId = readTlv(msg, pdu.start);
  const second = readTlv(msg, requestId.end);
  const third = readTlv(msg, second.end);
  const list = readTlv(msg, third.end);
  const oids: string[] = [];
  for (let at = list.start; at < list.end; ) {
    const vb = readTlv(msg, at);
    const oid = readTlv(msg, vb.start);
    oids.push(decodeOid(msg.subarray(oid.start, oid.end)));
    at = vb.end;
  }
  let id = 0;
  for (const byte of msg.subarray(requestId.start, requestId.end)) id = id * 256 + byte;
  return {
    community: msg.subarray(community.start, community.end).toString(),
    pduType: pdu.tag,
    requestId: id,
    oids,
  };
}
