import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { type RawAnswer, RawHttpConnection, rawRequest } from './raw-http.ts';

/** One way to spell a request path differently (see mutatePath). */
export type PathMutation = { op: string; at?: number; upper?: boolean; text?: string; byte?: number };

const hex = (c: string, upper: boolean) => {
  const h = c.charCodeAt(0).toString(16).padStart(2, '0');
  return `%${upper ? h.toUpperCase() : h}`;
};

/**
 * Generates path mutations for request-target fuzz tests: percent-encode a character, encode
 * the percent signs again, replace a slash (`//`, dot segments, backslash, encoded slash),
 * append (query, fragment, bad UTF-8, broken escapes), upper-case, insert a raw byte. Each
 * listener's test adds the spellings that matter to it.
 */
export function pathMutation(
  extra: { slashes?: string[]; appends?: string[] } = {},
): fc.Arbitrary<PathMutation> {
  return fc.oneof(
    fc.record({ op: fc.constant('encode'), at: fc.nat(), upper: fc.boolean() }),
    fc.record({ op: fc.constant('double-encode'), at: fc.nat() }),
    fc.record({
      op: fc.constant('slash'),
      at: fc.nat(),
      text: fc.constantFrom('//', '/./', '/x/../', '\\', '/%2F', '/%2e/', ...(extra.slashes ?? [])),
    }),
    fc.record({
      op: fc.constant('append'),
      text: fc.constantFrom(
        '/',
        '?',
        '?a=1&a=2',
        '#f',
        ';x',
        '%00',
        '%',
        '%G1',
        '%E0%A4%A',
        '%FF',
        '%C0%AF',
        '/..',
        ...(extra.appends ?? []),
      ),
    }),
    fc.record({ op: fc.constant('upper') }),
    fc.record({ op: fc.constant('raw-byte'), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  );
}

/** Applies one mutation to a path. */
export function mutatePath(path: string, m: PathMutation): string {
  const at = m.at !== undefined && path.length > 0 ? m.at % path.length : 0;
  switch (m.op) {
    case 'encode': {
      const c = path[at] ?? 'a';
      return path.slice(0, at) + hex(c, m.upper ?? false) + path.slice(at + 1);
    }
    case 'double-encode':
      return path.replaceAll('%', '%25');
    case 'slash': {
      const slash = path.indexOf('/', at);
      return slash < 0
        ? path + (m.text ?? '')
        : path.slice(0, slash) + (m.text ?? '') + path.slice(slash + 1);
    }
    case 'append':
      return path + (m.text ?? '');
    case 'upper':
      return path.toUpperCase();
    case 'raw-byte':
      return path.slice(0, at) + String.fromCharCode(m.byte ?? 0) + path.slice(at);
    default:
      return path;
  }
}

/**
 * Generates request targets: one of `routes()` (read when a value is made, so routes known
 * only at run time count) spelled differently by up to four mutations, in origin form
 * (most often), absolute form (http and https, with one of `hosts`), authority form,
 * asterisk form, or empty.
 */
export function requestTarget(
  routes: () => readonly string[],
  opts: { mutation: fc.Arbitrary<PathMutation>; hosts: string[]; authority: string },
): fc.Arbitrary<string> {
  return fc
    .record({
      route: fc.nat(),
      mutations: fc.array(opts.mutation, { maxLength: 4 }),
      form: fc.constantFrom(
        'origin',
        'origin',
        'origin',
        'absolute',
        'absolute-https',
        'authority',
        'asterisk',
        'empty',
      ),
      host: fc.constantFrom(...opts.hosts, ''),
    })
    .map(({ route, mutations, form, host }) => {
      const all = routes();
      let path = all[route % all.length] as string;
      for (const m of mutations) path = mutatePath(path, m);
      switch (form) {
        case 'absolute':
          return `http://${host}${path}`;
        case 'absolute-https':
          return `https://${host}${path}`;
        case 'authority':
          return host || opts.authority;
        case 'asterisk':
          return '*';
        case 'empty':
          return '';
        default:
          return path;
      }
    });
}

/** One generated request: its line, its Host (null: none), other headers, body, and whether it upgrades. */
export interface GeneratedRequest {
  method: string;
  target: string;
  host: string | null;
  headers: string[];
  body: string;
  upgrade: boolean;
}

/** The bytes of a generated request: Content-Length, or chunked when it says so. */
export function encodeRequest(req: GeneratedRequest): Buffer {
  const lines = [
    `${req.method} ${req.target} HTTP/1.1`,
    ...(req.host === null ? [] : [`Host: ${req.host}`]),
    ...req.headers,
  ];
  const bytes = Buffer.from(req.body, 'latin1');
  if (req.headers.includes('Transfer-Encoding: chunked')) {
    const payload =
      bytes.length > 0 ? `${bytes.length.toString(16)}\r\n${req.body}\r\n0\r\n\r\n` : '0\r\n\r\n';
    return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${payload}`, 'latin1');
  }
  lines.push(`Content-Length: ${bytes.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), bytes]);
}

/** A request and its answer, short enough for an assertion message. */
export function describeExchange(req: GeneratedRequest, answer: RawAnswer): string {
  return `${JSON.stringify(encodeRequest(req).subarray(0, 300).toString('latin1'))} answered ${answer.status}`;
}

/** WebSocket handshake headers, right and wrong, with `origin` as the foreign page's Origin. */
export function upgradeHeaders(origin: string) {
  return fc.record({
    upgrade: fc.constantFrom('websocket', 'WebSocket', 'h2c', 'websocket, foo', ''),
    connection: fc.constantFrom('Upgrade', 'upgrade, keep-alive', 'keep-alive', 'close'),
    version: fc.constantFrom('13', '8', '', 'x'),
    key: fc.constantFrom(
      randomBytes(16).toString('base64'),
      'short',
      '',
      '=====',
      randomBytes(40).toString('base64'),
    ),
    extra: fc.constantFrom(
      '',
      'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits',
      'Sec-WebSocket-Protocol: mqtt',
      `Origin: ${origin}`,
    ),
  });
}

/**
 * Sends generated requests over a few keep-alive connections per port (a fresh one when the
 * server closed one), upgrades each on a connection of its own.
 */
export class FuzzSender {
  private readonly pool = new Map<string, RawHttpConnection>();
  private readonly connections: number;
  private served = 0;

  constructor(connections: number) {
    this.connections = connections;
  }

  send(port: number, req: GeneratedRequest): Promise<RawAnswer> {
    const bytes = encodeRequest(req);
    const head = req.method.toUpperCase() === 'HEAD';
    if (req.upgrade) return rawRequest(port, bytes, { head, timeoutMs: 5000 });
    const key = `${port}/${this.served++ % this.connections}`;
    let conn = this.pool.get(key);
    if (!conn?.open) {
      conn = new RawHttpConnection(port);
      this.pool.set(key, conn);
    }
    return conn.exchange(bytes, { head, timeoutMs: 5000 });
  }

  destroy(): void {
    for (const c of this.pool.values()) c.destroy();
    this.pool.clear();
  }
}
