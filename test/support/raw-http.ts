import { connect, type Socket } from 'node:net';

/** What came back for one raw request: the status (0 when the connection closed or timed out first). */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The server closed the connection after this answer (or instead of one). */
  closed: boolean;
}

const NO_ANSWER: RawAnswer = { status: 0, headers: {}, body: Buffer.alloc(0), closed: true };

/**
 * An HTTP/1.1 client that sends whatever bytes it is given (request lines no library would
 * write) and reads the answers one at a time over one keep-alive connection. Written here
 * because every client library validates the request target, which is what the fuzz tests
 * must get past. Bodies: Content-Length, chunked, or up to the close.
 */
export class RawHttpConnection {
  private readonly socket: Socket;
  private buffer = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | null = null;
  private readonly ready: Promise<void>;

  constructor(port: number, host = '127.0.0.1') {
    this.socket = connect(port, host);
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', () => resolve());
    });
    this.socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake?.();
    });
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
  }

  /** Whether the connection can carry another request. */
  get open(): boolean {
    return !this.ended && !this.socket.destroyed;
  }

  /** Sends `request` and reads one answer; `head` says the request was a HEAD (no body comes). */
  async exchange(
    request: string | Buffer,
    opts: { head?: boolean; timeoutMs?: number } = {},
  ): Promise<RawAnswer> {
    await this.ready;
    if (!this.open) return NO_ANSWER;
    this.socket.write(request);
    const timeoutMs = opts.timeoutMs ?? 10_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.wake?.();
    }, timeoutMs);
    try {
      for (;;) {
        const answer = this.parse(opts.head ?? false);
        if (answer) return answer;
        if (this.ended || timedOut) {
          this.destroy();
          return NO_ANSWER;
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = null;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends more bytes of the current request (a body in pieces). */
  write(bytes: string | Buffer): void {
    if (this.open) this.socket.write(bytes);
  }

  destroy(): void {
    this.socket.destroy();
    this.ended = true;
  }

  /** One complete answer taken off the buffer, or null while it is incomplete. */
  private parse(head: boolean): RawAnswer | null {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const lines = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const rest = this.buffer.subarray(end + 4);
    if (status >= 100 && status < 200 && status !== 101) {
      // An interim answer (100 Continue): the final one follows.
      this.buffer = rest;
      return this.parse(head);
    }
    const closing = (headers.connection ?? '').toLowerCase() === 'close';
    const take = (body: Buffer, used: number, closed: boolean): RawAnswer => {
      this.buffer = rest.subarray(used);
      if (closed || status === 101) this.destroy();
      return { status, headers, body, closed: closed || status === 101 };
    };
    if (head || status === 101 || status === 204 || status === 304) {
      return take(Buffer.alloc(0), 0, closing);
    }
    if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (rest.length < length) return null;
      return take(rest.subarray(0, length), length, closing);
    }
    if ((headers['transfer-encoding'] ?? '').toLowerCase().includes('chunked')) {
      const parts: Buffer[] = [];
      let at = 0;
      for (;;) {
        const lineEnd = rest.indexOf('\r\n', at);
        if (lineEnd < 0) return null;
        const size = Number.parseInt(rest.subarray(at, lineEnd).toString('latin1'), 16);
        if (size === 0) {
          const trailerEnd = rest.indexOf('\r\n', lineEnd + 2);
          if (trailerEnd < 0) return null;
          return take(Buffer.concat(parts), trailerEnd + 2, closing);
        }
        if (rest.length < lineEnd + 2 + size + 2) return null;
        parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
    }
    if (!this.ended) return null;
    return take(rest, rest.length, true);
  }
}

/** One request on a connection of its own, read up to the close. */
export async function rawRequest(
  port: number,
  request: string | Buffer,
  opts: { head?: boolean; timeoutMs?: number } = {},
): Promise<RawAnswer> {
  const conn = new RawHttpConnection(port);
  try {
    return await conn.exchange(request, opts);
  } finally {
    conn.destroy();
  }
}
