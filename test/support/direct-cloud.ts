import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';

export interface CloudRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

/**
 * Plays the cloud's direct endpoints (pull variant) for one document. `connectStatus` answers the
 * device's connect; `onGet` may take over a GET (to fail or drop it); by default each GET is served
 * from its offset to the end.
 */
export class FakeCloud {
  readonly requests: CloudRequest[] = [];
  connectStatus = 204;
  onGet: ((res: ServerResponse, from: number, attempt: number) => void) | undefined;
  readonly document: Buffer;
  private readonly server: Server;

  constructor(document: Buffer) {
    this.document = document;
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async listen(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  get gets(): CloudRequest[] {
    return this.requests.filter((r) => r.method === 'GET');
  }

  get posts(): CloudRequest[] {
    return this.requests.filter((r) => r.method === 'POST');
  }

  /** Sends the document from `from` on with its size headers. */
  serve(res: ServerResponse, from: number): ServerResponse {
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': this.document.length - from,
      'x-job-size': this.document.length,
    });
    return res;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    this.requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization,
      body: Buffer.concat(chunks).toString(),
    });
    if (req.method === 'POST') {
      res.writeHead(req.url?.endsWith('/connect') ? this.connectStatus : 204).end();
      return;
    }
    const from = Number(new URL(req.url ?? '', 'http://x').searchParams.get('offset'));
    if (this.onGet) this.onGet(res, from, this.gets.length);
    else this.serve(res, from).end(this.document.subarray(from));
  }
}

/** What a StreamCloud saw from the device on one WebSocket connection. */
export interface StreamConnection {
  url: string;
  authorization: string | undefined;
  /** What the device said it holds (`holding`), once it did. */
  from: number | undefined;
  /** Its reports (complete or error). */
  messages: string[];
}

/**
 * Plays the cloud's push endpoint (`GET …/stream` upgraded to a WebSocket) for one document.
 * Nothing is sent until the device says what it holds; then `onConnect` may take over (to drop
 * the connection); by default the document goes from there in 64 KiB binary messages and `end`,
 * and every report gets a `result`. `refuse` answers the upgrade with that HTTP status instead.
 */
export class StreamCloud {
  readonly connections: StreamConnection[] = [];
  onConnect: ((ws: WebSocket, from: number, attempt: number) => void) | undefined;
  refuse: number | undefined;
  readonly document: Buffer;
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true });

  constructor(document: Buffer) {
    this.document = document;
    this.server = createServer((_req, res) => res.writeHead(404).end());
    this.server.on('upgrade', (req, socket, head) => {
      const connection: StreamConnection = {
        url: req.url ?? '',
        authorization: req.headers.authorization,
        from: undefined,
        messages: [],
      };
      this.connections.push(connection);
      if (this.refuse !== undefined) {
        socket.end(`HTTP/1.1 ${this.refuse} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (data) => {
          const text = String(data);
          const message = JSON.parse(text);
          if (message.type === 'holding') {
            connection.from = message.offset;
            const attempt = this.connections.filter((c) => c.from !== undefined).length;
            if (this.onConnect) this.onConnect(ws, message.offset, attempt);
            else this.stream(ws, message.offset);
            return;
          }
          connection.messages.push(text);
          ws.send(JSON.stringify({ type: 'result', state: message.type === 'complete' ? 'done' : 'failed' }));
          ws.close(1000);
        });
      });
    });
  }

  async listen(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  /** Sends the document from `from` to `to` in 64 KiB messages, then `end` when `to` is the end. */
  stream(ws: WebSocket, from: number, to = this.document.length): void {
    for (let at = from; at < to; at += 64 * 1024) {
      ws.send(this.document.subarray(at, Math.min(to, at + 64 * 1024)), { binary: true });
    }
    if (to === this.document.length) {
      const sha256 = createHash('sha256').update(this.document).digest('hex');
      ws.send(JSON.stringify({ type: 'end', size: this.document.length, sha256 }));
    }
  }

  /** The device's reports, parsed, across all connections. */
  get reports(): Array<Record<string, unknown>> {
    return this.connections.flatMap((c) => c.messages.map((m) => JSON.parse(m)));
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
