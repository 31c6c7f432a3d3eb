import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SystemClock } from '../../../src/clock/system-clock.ts';
import { isDeviceError } from '../../../src/devices/device-error.ts';
import {
  decodeMessage,
  encodeMessage,
  findAttribute,
  GroupTag,
  integerValue,
  ValueTag,
} from '../../../src/devices/ipp/ipp-codec.ts';
import { IppDriver } from '../../../src/devices/ipp/ipp-driver.ts';
import { JobState, Operation } from '../../../src/devices/ipp/ipp-vocabulary.ts';
import { freePort } from '../../support/free-port.ts';
import { type IppPrinterHandle, runIpptool, startIppPrinter } from '../../support/ipp-printer.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A document delivered in many small chunks, so the driver has to stream it. */
function chunked(data: Buffer, chunkSize = 64 * 1024): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= data.length) {
        this.push(null);
        return;
      }
      this.push(data.subarray(offset, offset + chunkSize));
      offset += chunkSize;
    },
  });
}

/** A minimal valid one-page PDF (xref offsets computed, so strict readers accept it). */
function tinyPdf(): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>',
    '<< /Length 0 >>\nstream\n\nendstream',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

const clock = new SystemClock();

describe('IPP driver against ippeveprinter', () => {
  let printer: IppPrinterHandle;
  let driver: IppDriver;

  beforeAll(async () => {
    printer = await startIppPrinter();
    driver = new IppDriver({ id: 'eve', printerUri: printer.uri, clock, pollIntervalMs: 50 });
  });
  afterAll(async () => {
    await driver?.close();
    await printer?.stop();
  });

  it('is a real IPP printer by ipptool, and our status agrees with what ipptool reads', async () => {
    const check = await runIpptool(printer.uri, 'get-printer-attributes.test', ['-v']);
    expect(check.output).toContain('[PASS]');
    expect(check.code).toBe(0);
    const line = check.output.split('\n').find((l) => l.includes('document-format-supported'));
    const ipptoolFormats = line?.split('=')[1]?.trim().split(',') ?? [];

    const status = await driver.status();
    expect(status.state).toBe('idle');
    expect(status.formats?.sort()).toEqual(ipptoolFormats.sort());
    expect(status.formats).toContain('application/pdf');
  });

  it('prints a PDF and reports done only when the printer says completed; spooled bytes are exact', async () => {
    const pdf = tinyPdf();
    const result = await driver.print({
      jobId: 'j-pdf',
      document: chunked(pdf, 100),
      format: 'application/pdf',
    });
    expect(result.bytesSent).toBe(pdf.length);
    const jobId = Number(result.deviceJobId);
    expect(sha256(await printer.spooledDocument(jobId))).toBe(sha256(pdf));

    const file = join(printer.spoolDir, 'job-state.test');
    await writeFile(
      file,
      `{ OPERATION Get-Job-Attributes GROUP operation ATTR charset attributes-charset utf-8
        ATTR naturalLanguage attributes-natural-language en ATTR uri printer-uri $uri
        ATTR integer job-id ${jobId} EXPECT job-state OF-TYPE enum WITH-VALUE 9 }`,
    );
    const check = await runIpptool(printer.uri, file);
    expect(check.output).toContain('[PASS]');
  });

  it('streams a 3 MB document byte-exact', async () => {
    // ippeveprinter cannot auto-type application/octet-stream, so the payload is text.
    const data = Buffer.from(randomBytes(3 * 1024 * 1024).toString('base64'));
    const result = await driver.print({ jobId: 'j-big', document: chunked(data), format: 'text/plain' });
    expect(result.bytesSent).toBe(data.length);
    expect(sha256(await printer.spooledDocument(Number(result.deviceJobId)))).toBe(sha256(data));
  });
});

describe('IPP driver: refusals, cancel, unreachable', () => {
  it('reports a format the printer does not take as REJECTED with the IPP status keyword', async () => {
    const printer = await startIppPrinter({ formats: ['application/pdf'] });
    const driver = new IppDriver({ id: 'pdf-only', printerUri: printer.uri, clock, pollIntervalMs: 50 });
    try {
      const err = await driver
        .print({ jobId: 'j1', document: Readable.from([Buffer.from('hello')]), format: 'text/plain' })
        .catch((e: unknown) => e);
      expect(isDeviceError(err, 'MFP_DEV_ERR_REJECTED')).toBe(true);
      // ippeveprinter answers with this status (and says why in status-message).
      expect(String(err)).toContain('client-error-attributes-or-values-not-supported');
      expect(String(err)).toContain('document-format');
    } finally {
      await driver.close();
      await printer.stop();
    }
  });

  it('cancels the job at the printer when the caller aborts while it prints', async () => {
    const printer = await startIppPrinter({ processingSeconds: 30 });
    const driver = new IppDriver({ id: 'slow', printerUri: printer.uri, clock, pollIntervalMs: 50 });
    try {
      const abort = new AbortController();
      const outcome = driver
        .print(
          { jobId: 'j-cancel', document: Readable.from([Buffer.from('x')]), format: 'text/plain' },
          abort.signal,
        )
        .catch((e: unknown) => e);
      // The printer owns the job once it processes it; wait for that, then give up.
      await vi.waitFor(async () => expect((await driver.status()).state).toBe('printing'), {
        timeout: 10_000,
        interval: 20,
      });
      abort.abort();
      expect(isDeviceError(await outcome, 'MFP_DEV_ERR_ABORTED')).toBe(true);
      // ippeveprinter lets its print command finish, so the job is "canceling": processing-to-stop-point.
      const file = join(printer.spoolDir, 'canceled.test');
      await writeFile(
        file,
        `{ OPERATION Get-Job-Attributes GROUP operation ATTR charset attributes-charset utf-8
          ATTR naturalLanguage attributes-natural-language en ATTR uri printer-uri $uri
          ATTR integer job-id 1 EXPECT job-state-reasons WITH-VALUE "processing-to-stop-point" }`,
      );
      const check = await runIpptool(printer.uri, file, ['-v']);
      expect(check.output).toContain('[PASS]');
    } finally {
      await driver.close();
      await printer.stop();
    }
  });

  it('says offline for status and UNREACHABLE for print when nothing listens', async () => {
    const port = await freePort();
    const driver = new IppDriver({ id: 'gone', printerUri: `ipp://127.0.0.1:${port}/ipp/print`, clock });
    const status = await driver.status();
    expect(status.state).toBe('offline');
    expect(status.since).toBeGreaterThan(0);
    const err = await driver
      .print({ jobId: 'j', document: Readable.from([Buffer.from('x')]) })
      .catch((e: unknown) => e);
    expect(isDeviceError(err, 'MFP_DEV_ERR_UNREACHABLE')).toBe(true);
  });
});

describe('IPP driver: streaming and malformed replies (scripted HTTP peers)', () => {
  const okReply = encodeMessage({
    code: 0,
    requestId: 1,
    groups: [
      {
        tag: GroupTag.operation,
        attributes: [{ name: 'attributes-charset', tag: ValueTag.charset, values: ['utf-8'] }],
      },
      { tag: GroupTag.printer, attributes: [{ name: 'printer-state', tag: ValueTag.enum, values: [3] }] },
    ],
  });

  it('sends the request before the document has ended (chunked, not buffered)', async () => {
    let release: (() => void) | undefined;
    const server = http.createServer((req, res) => {
      expect(req.headers['transfer-encoding']).toBe('chunked');
      req.once('data', () => release?.());
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/ipp' }).end(okReply));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const document = new Readable({ read() {} });
    document.push(Buffer.from('first chunk'));
    // The document ends only after the server saw bytes: a buffering client would wait forever.
    release = () => document.push(null);
    const driver = new IppDriver({ id: 'stream', printerUri: `ipp://127.0.0.1:${port}/ipp/print`, clock });
    const err = await driver.print({ jobId: 'j', document }).catch((e: unknown) => e);
    // The scripted reply has no job-id: the print fails after the document went through.
    expect(isDeviceError(err, 'MFP_DEV_ERR_MALFORMED_REPLY')).toBe(true);
    expect(String(err)).toContain('no job-id');
    server.close();
  });

  it('cancels the job the printer made when the caller aborts while the Print-Job reply is on its way', async () => {
    // ippeveprinter starts printing a job before it sends the Print-Job reply: a caller that
    // sees the printer busy can give up before the gateway knows the job's id.
    const reply = encodeMessage({
      code: 0,
      requestId: 1,
      groups: [
        {
          tag: GroupTag.operation,
          attributes: [{ name: 'attributes-charset', tag: ValueTag.charset, values: ['utf-8'] }],
        },
        {
          tag: GroupTag.job,
          attributes: [
            { name: 'job-id', tag: ValueTag.integer, values: [7] },
            { name: 'job-state', tag: ValueTag.enum, values: [JobState.processing] },
          ],
        },
      ],
    });
    let printJobIn: () => void = () => {};
    const printJobArrived = new Promise<void>((r) => {
      printJobIn = r;
    });
    let releaseReply: () => void = () => {};
    const canceled: number[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const message = decodeMessage(Buffer.concat(chunks));
        const answer = () => res.writeHead(200, { 'content-type': 'application/ipp' }).end(reply);
        if (message.code === Operation.printJob) {
          releaseReply = answer;
          printJobIn();
          return;
        }
        if (message.code === Operation.cancelJob) {
          canceled.push(integerValue(findAttribute(message, GroupTag.operation, 'job-id')) ?? -1);
        }
        answer();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const driver = new IppDriver({ id: 'held', printerUri: `ipp://127.0.0.1:${port}/ipp/print`, clock });
    try {
      const abort = new AbortController();
      const outcome = driver
        .print(
          { jobId: 'j', document: Readable.from([Buffer.from('x')]), format: 'text/plain' },
          abort.signal,
        )
        .catch((e: unknown) => e);
      await printJobArrived;
      abort.abort();
      releaseReply();
      expect(isDeviceError(await outcome, 'MFP_DEV_ERR_ABORTED')).toBe(true);
      expect(canceled).toEqual([7]);
    } finally {
      await driver.close();
      server.closeAllConnections();
      server.close();
    }
  });

  async function rawServer(reply: Buffer): Promise<{ server: Server; uri: string }> {
    const server = createServer((socket) => {
      socket.once('data', () => socket.end(reply));
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    return { server, uri: `ipp://127.0.0.1:${port}/ipp/print` };
  }

  it('turns a truncated IPP body, a short HTTP body and garbage into MALFORMED_REPLY', async () => {
    const cut = okReply.subarray(0, okReply.length - 6);
    const replies = [
      Buffer.concat([
        Buffer.from(
          `HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nContent-Length: ${cut.length}\r\n\r\n`,
        ),
        cut,
      ]),
      Buffer.concat([
        Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nContent-Length: 500\r\n\r\n`),
        okReply,
      ]),
      Buffer.from('\x00\x01garbage that is not HTTP\r\n\r\n'),
    ];
    for (const reply of replies) {
      const { server, uri } = await rawServer(reply);
      const driver = new IppDriver({ id: 'bad', printerUri: uri, clock });
      const err = await driver.status().catch((e: unknown) => e);
      expect(isDeviceError(err, 'MFP_DEV_ERR_MALFORMED_REPLY'), String(err)).toBe(true);
      server.close();
    }
  });
});
