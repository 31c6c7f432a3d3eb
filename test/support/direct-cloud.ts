import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface CloudRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

/**
 * Plays the cloud's direct endpoints for one document. `onGet` may take over a GET (to fail or
 * drop it); by default each GET is served from its offset to the end.
 */
export class FakeCloud {
  readonly requests: CloudRequest[] = [];
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
      res.writeHead(204).end();
      return;
    }
    const from = Number(new URL(req.url ?? '', 'http://x').searchParams.get('offset'));
    if (this.onGet) this.onGet(res, from, this.gets.length);
    else this.serve(res, from).end(this.document.subarray(from));
  }
}
