import type { Duplex } from 'node:stream';
import { UEL } from '../../devices/pjl/pjl-commands.ts';
import { type DirectConnectError, type DirectRequest, parseDirectConnect } from './direct-handover.ts';

/** What a session needs from the simulated printer it belongs to. */
export interface PjlDeviceHost {
  /** CODE, DISPLAY and ONLINE as the printer would report them now. */
  statusFields(): { code: number; display: string; online: boolean };
  pageCount(): number;
  /** Opens a job's document sink; bytes between ENTER LANGUAGE and the next UEL go there. */
  beginJob(name: string): JobSink;
  /** Milliseconds to hold each received chunk before reading on (slow-consumer fault); 0 for none. */
  readDelayMs(bytes: number): number;
  /** Resolves when the printer can finish jobs (no paper-out / offline fault). */
  whenPrintable(): Promise<void>;
  /**
   * An MFPGW CONNECT (seed 001's 7G) for the job in progress: connects to the cloud by itself in
   * the background while the job goes on here, and reports CONNECTED once the connection is up or
   * REFUSED when it cannot make it.
   */
  connect(
    name: string,
    request: DirectRequest | DirectConnectError,
    report: (word: DirectWord) => void,
  ): void;
  /**
   * An MFPGW INTERRUPT (7L): takes the job over on its direct connection with the bytes the sink
   * holds, or — with no connection — refuses and discards it.
   */
  interrupt(name: string, sink: JobSink): Promise<InterruptAnswer>;
}

/** What the device says of its direct connection. */
export type DirectWord = 'CONNECTED' | 'REFUSED';

export type InterruptAnswer = { accepted: true; offset: number } | { accepted: false };

/** A job's document as stored. */
export interface StoredDocument {
  bytes: number;
  pages: number;
  /** SHA-256 of the document bytes, hex. */
  sha256: string;
}

export interface JobSink {
  /** Document bytes written so far. */
  readonly bytes: number;
  write(chunk: Buffer): Promise<void>;
  /** Closes the document; resolves once it is safely stored. A job is stored at most once. */
  finish(): Promise<StoredDocument>;
  /** Closes and deletes the document: the job is not stored. */
  discard(): Promise<void>;
}

type Mode = 'pjl' | 'data';

/**
 * The printer's side of one PJL channel (a 9100 connection or a serial line): reads PJL
 * commands, diverts the PDL between ENTER LANGUAGE and the next UEL into the job's sink
 * byte for byte, answers INFO queries, and sends USTATUS JOB / DEVICE when enabled.
 */
export class PjlDeviceSession {
  private mode: Mode = 'pjl';
  private line = Buffer.alloc(0);
  /** Bytes held back in data mode because they may be the start of a UEL split across chunks. */
  private held = Buffer.alloc(0);
  private job: { name: string; sink: JobSink } | undefined;
  private ustatusJob = false;
  private ustatusDevice = false;
  private readonly stream: Duplex;
  private readonly host: PjlDeviceHost;
  private closed = false;

  constructor(stream: Duplex, host: PjlDeviceHost) {
    this.stream = stream;
    this.host = host;
    stream.on('data', (chunk: Buffer) => {
      stream.pause();
      this.receive(chunk).then(
        () => {
          const delay = host.readDelayMs(chunk.length);
          if (delay > 0) setTimeout(() => this.resume(), delay);
          else this.resume();
        },
        () => stream.destroy(),
      );
    });
    stream.on('close', () => {
      this.closed = true;
    });
    stream.on('error', () => {});
  }

  /** Sends an unsolicited USTATUS DEVICE if the host asked for them on this channel. */
  announceDevice(): void {
    if (!this.ustatusDevice) return;
    const s = this.host.statusFields();
    this.send(
      `@PJL USTATUS DEVICE\r\nCODE=${s.code}\r\nDISPLAY="${s.display}"\r\nONLINE=${s.online ? 'TRUE' : 'FALSE'}\r\n`,
    );
  }

  private resume(): void {
    if (!this.closed) this.stream.resume();
  }

  private async receive(chunk: Buffer): Promise<void> {
    let rest = chunk;
    while (rest.length > 0) {
      rest = this.mode === 'data' ? await this.receiveData(rest) : await this.receivePjl(rest);
    }
  }

  private async receiveData(chunk: Buffer): Promise<Buffer> {
    const buf = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    this.held = Buffer.alloc(0);
    const at = buf.indexOf(UEL);
    if (at !== -1) {
      await this.job?.sink.write(buf.subarray(0, at));
      this.mode = 'pjl';
      return buf.subarray(at + UEL.length);
    }
    const keep = partialUelSuffix(buf);
    await this.job?.sink.write(buf.subarray(0, buf.length - keep));
    this.held = Buffer.from(buf.subarray(buf.length - keep));
    return Buffer.alloc(0);
  }

  private async receivePjl(chunk: Buffer): Promise<Buffer> {
    let buf = Buffer.concat([this.line, chunk]);
    this.line = Buffer.alloc(0);
    for (;;) {
      while (buf.subarray(0, UEL.length).equals(UEL)) buf = buf.subarray(UEL.length);
      const nl = buf.indexOf(0x0a);
      if (nl === -1) {
        this.line = Buffer.from(buf);
        return Buffer.alloc(0);
      }
      const text = buf.subarray(0, nl).toString('latin1').replace(/\r$/, '').trim();
      buf = buf.subarray(nl + 1);
      if (await this.command(text)) {
        this.mode = 'data';
        return buf;
      }
    }
  }

  /** Executes one PJL line; true when it switches the channel to the PDL (ENTER LANGUAGE). */
  private async command(text: string): Promise<boolean> {
    if (!text.toUpperCase().startsWith('@PJL')) return false;
    const words = text.slice(4).trim();
    const upper = words.toUpperCase();
    const name = /NAME\s*=\s*"([^"]*)"/i.exec(words)?.[1] ?? '';
    if (upper.startsWith('ENTER LANGUAGE')) {
      if (!this.job) this.job = { name: 'untitled', sink: this.host.beginJob('untitled') };
      return true;
    }
    if (upper.startsWith('USTATUS')) {
      const m = /^USTATUS\s+(JOB|DEVICE)\s*=\s*(ON|OFF|VERBOSE)/.exec(upper);
      if (m?.[1] === 'JOB') this.ustatusJob = m[2] !== 'OFF';
      if (m?.[1] === 'DEVICE') this.ustatusDevice = m[2] !== 'OFF';
    } else if (upper.startsWith('JOB')) {
      this.job = { name, sink: this.host.beginJob(name) };
      this.reportJob('START', name);
      this.announceDevice();
    } else if (upper.startsWith('EOJ')) {
      await this.endJob();
    } else if (upper.startsWith('MFPGW CONNECT')) {
      this.connect(name, words.slice('MFPGW CONNECT'.length));
    } else if (upper.startsWith('MFPGW INTERRUPT')) {
      await this.interrupt(name);
    } else if (upper === 'INFO STATUS') {
      const s = this.host.statusFields();
      this.send(
        `@PJL INFO STATUS\r\nCODE=${s.code}\r\nDISPLAY="${s.display}"\r\nONLINE=${s.online ? 'TRUE' : 'FALSE'}\r\n`,
      );
    } else if (upper === 'INFO PAGECOUNT') {
      this.send(`@PJL INFO PAGECOUNT\r\n${this.host.pageCount()}\r\n`);
    } else if (upper === 'INFO ID') {
      this.send('@PJL INFO ID\r\n"mfp-gateway SimMfp"\r\n');
    }
    return false;
  }

  private async endJob(): Promise<void> {
    const job = this.job;
    if (!job) return;
    this.job = undefined;
    const { pages } = await job.sink.finish();
    // Like a real printer, the job ends only when its pages are out: not while paper is out.
    await this.host.whenPrintable();
    this.reportJob('END', job.name, `PAGES=${pages}`);
  }

  /** MFPGW CONNECT: connect to the cloud while the job in progress goes on over this channel. */
  private connect(name: string, params: string): void {
    // Only the job in progress can switch; a CONNECT for another is refused and changes nothing.
    if (this.job?.name !== name) {
      this.reportJob('REFUSED', name);
      return;
    }
    this.host.connect(name, parseDirectConnect(params), (word) => this.reportJob(word, name));
  }

  /** MFPGW INTERRUPT: the rest of the job in progress comes over the device's own connection. */
  private async interrupt(name: string): Promise<void> {
    const job = this.job;
    if (!job || job.name !== name) {
      this.reportJob('REFUSED', name);
      return;
    }
    // The channel is done with this job either way: a later EOJ for it must not store it again.
    this.job = undefined;
    const answer = await this.host.interrupt(name, job.sink);
    if (answer.accepted) this.reportJob('INTERRUPTED', name, `OFFSET=${answer.offset}`);
    else this.reportJob('REFUSED', name);
  }

  /** Sends a USTATUS JOB report (START, END, CONNECTED, INTERRUPTED, REFUSED) if the host asked for them on this channel. */
  private reportJob(state: string, name: string, ...fields: string[]): void {
    if (!this.ustatusJob) return;
    this.send(['@PJL USTATUS JOB', state, `NAME="${name}"`, ...fields].map((line) => `${line}\r\n`).join(''));
  }

  private send(text: string): void {
    if (!this.closed && this.stream.writable) this.stream.write(Buffer.from(`${text}\f`, 'latin1'));
  }
}

/** Length of the longest suffix of buf that is a proper prefix of the UEL sequence. */
function partialUelSuffix(buf: Buffer): number {
  for (let n = Math.min(UEL.length - 1, buf.length); n > 0; n--) {
    if (buf.subarray(buf.length - n).equals(UEL.subarray(0, n))) return n;
  }
  return 0;
}
