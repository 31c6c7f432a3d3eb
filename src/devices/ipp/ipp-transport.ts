import type http from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { http as httpModule, https as httpsModule } from '../../runtime/node-http.ts';
import { DeviceError } from '../device-error.ts';
import { decodeMessage, IppDecodeError, type IppMessage } from './ipp-codec.ts';

export interface IppTransportOptions {
  deviceId: string;
  /** ipp://host[:port]/path or ipps://…; mapped to http(s) on port 631 by default. */
  printerUri: string;
  /** Replies above this size are refused: a printer must not make the gateway allocate without bound. */
  maxResponseBytes: number;
  /** Milliseconds without a reply byte before a request fails with MFP_DEV_ERR_TIMEOUT (socket idle timeout). */
  idleTimeoutMs: number;
}

export interface IppExchange {
  response: IppMessage;
  /** Document bytes that left the gateway. */
  bytesSent: number;
}

/**
 * Sends one IPP request over HTTP POST. The attribute part goes first and the document, when
 * given, is piped after it with chunked transfer encoding — never buffered whole — so
 * backpressure from a slow printer reaches the document's source.
 *
 * `signal` cuts the exchange off, except for a request that carries a document (Print-Job)
 * once all of it is out: the printer may already have made a job of it, so its reply, which
 * names the job to cancel, is awaited (the idle timeout still bounds the wait).
 */
export async function ippExchange(
  options: IppTransportOptions,
  request: Buffer,
  document?: Readable,
  signal?: AbortSignal,
): Promise<IppExchange> {
  const { deviceId } = options;
  const url = httpUrl(options.printerUri);
  const client = url.protocol === 'https:' ? httpsModule : httpModule;
  let bytesSent = 0;
  let documentError: unknown;

  const req = client.request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/ipp', ...(document ? {} : { 'content-length': request.length }) },
    timeout: options.idleTimeoutMs,
  });
  const takeBack = () => {
    if (document && req.writableEnded) return;
    req.destroy(new DeviceError('MFP_DEV_ERR_ABORTED', deviceId, 'request aborted by the caller'));
  };
  if (signal?.aborted) takeBack();
  else signal?.addEventListener('abort', takeBack, { once: true });
  req.on('timeout', () =>
    req.destroy(
      new DeviceError(
        'MFP_DEV_ERR_TIMEOUT',
        deviceId,
        `no answer from ${url.host} within ${options.idleTimeoutMs} ms`,
      ),
    ),
  );

  const responsePromise = new Promise<IppMessage>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      readResponse(res, options).then(resolve, reject);
    });
  });

  async function* body(): AsyncGenerator<Buffer> {
    yield request;
    if (!document) return;
    try {
      for await (const chunk of document) {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
        bytesSent += buf.length;
        yield buf;
      }
    } catch (err) {
      documentError = err;
      throw err;
    }
  }

  const sending = pipeline(body, req);
  try {
    // A printer may answer (e.g. format not supported) and close before it has read the whole
    // document; its answer is then the truth and the broken pipe is only a consequence.
    const [sent, answered] = await Promise.allSettled([sending, responsePromise]);
    if (answered.status === 'fulfilled') return { response: answered.value, bytesSent };
    throw sent.status === 'rejected' && !(answered.reason instanceof DeviceError)
      ? sent.reason
      : answered.reason;
  } catch (err) {
    if (documentError !== undefined) {
      throw new DeviceError(
        'MFP_DEV_ERR_ABORTED',
        deviceId,
        `reading the document failed: ${String(documentError)}`,
        {
          cause: documentError,
        },
      );
    }
    throw classify(err, deviceId, url, signal);
  } finally {
    signal?.removeEventListener('abort', takeBack);
  }
}

function readResponse(res: http.IncomingMessage, options: IppTransportOptions): Promise<IppMessage> {
  const { deviceId } = options;
  return new Promise((resolve, reject) => {
    if (res.statusCode !== 200) {
      res.resume();
      reject(
        new DeviceError(
          'MFP_DEV_ERR_REJECTED',
          deviceId,
          `printer answered HTTP ${res.statusCode} ${res.statusMessage ?? ''}; check the printer URI path and authentication`,
        ),
      );
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > options.maxResponseBytes) {
        res.destroy();
        reject(
          new DeviceError(
            'MFP_DEV_ERR_MALFORMED_REPLY',
            deviceId,
            `IPP reply larger than ${options.maxResponseBytes} bytes; refused`,
          ),
        );
        return;
      }
      chunks.push(chunk);
    });
    res.once('error', reject);
    res.once('aborted', () => reject(truncated(deviceId, size)));
    res.once('end', () => {
      if (!res.complete) {
        reject(truncated(deviceId, size));
        return;
      }
      try {
        resolve(decodeMessage(Buffer.concat(chunks)));
      } catch (err) {
        if (!(err instanceof IppDecodeError)) throw err;
        reject(
          new DeviceError('MFP_DEV_ERR_MALFORMED_REPLY', deviceId, `malformed IPP reply: ${err.message}`, {
            cause: err,
          }),
        );
      }
    });
  });
}

function truncated(deviceId: string, size: number): DeviceError {
  return new DeviceError('MFP_DEV_ERR_MALFORMED_REPLY', deviceId, `IPP reply cut off after ${size} bytes`);
}

function classify(err: unknown, deviceId: string, url: URL, signal?: AbortSignal): DeviceError {
  if (err instanceof DeviceError) return err;
  if (signal?.aborted)
    return new DeviceError('MFP_DEV_ERR_ABORTED', deviceId, 'request aborted by the caller');
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNRESET' || code === 'HPE_INVALID_CONSTANT' || code?.startsWith('HPE_')) {
    return new DeviceError(
      'MFP_DEV_ERR_MALFORMED_REPLY',
      deviceId,
      `printer at ${url.host} broke the HTTP exchange (${code})`,
      { cause: err },
    );
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new DeviceError(
    'MFP_DEV_ERR_UNREACHABLE',
    deviceId,
    `cannot reach IPP printer at ${url.host} (${detail}); check that it is on and the URI is right`,
    { cause: err },
  );
}

/** ipp://h/p → http://h:631/p, ipps://h/p → https://h:631/p (RFC 3510, RFC 7472). */
export function httpUrl(printerUri: string): URL {
  const u = new URL(printerUri);
  if (u.protocol !== 'ipp:' && u.protocol !== 'ipps:') {
    if (u.protocol === 'http:' || u.protocol === 'https:') return u;
    throw new RangeError(`printer URI must be ipp:// or ipps://, got ${printerUri}`);
  }
  const secure = u.protocol === 'ipps:';
  return new URL(`${secure ? 'https' : 'http'}://${u.hostname}:${u.port || '631'}${u.pathname}${u.search}`);
}
