import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { hostname } from 'node:os';

/** PRI of every message: facility local0 (16), severity informational (6). */
const PRI = 16 * 8 + 6;
/** Longest HOSTNAME, APP-NAME and MSGID RFC 5424 allows. */
const HOSTNAME_MAX = 255;
const APP_NAME_MAX = 48;
const MSG_ID_MAX = 32;

/** The header fields of one RFC 5424 message the sender varies. */
export interface SyslogFields {
  time: Date;
  hostname: string;
  appName: string;
  msgId: string;
  text: string;
  /** The job the line is about: sent as structured data so the gateway's journal links it. */
  jobId?: string;
}

/**
 * One RFC 5424 message: `<134>1 TIMESTAMP HOSTNAME APP-NAME - MSGID SD TEXT`, where SD is
 * `[mfpgw@32473 jobId="..."]` for a job's lines and "-" otherwise.
 */
export function formatSyslog(fields: SyslogFields): Buffer {
  const sd =
    fields.jobId === undefined ? '-' : `[mfpgw@32473 jobId="${fields.jobId.replace(/["\\\]]/g, '\\$&')}"]`;
  return Buffer.from(
    `<${PRI}>1 ${fields.time.toISOString()} ${headerField(fields.hostname, HOSTNAME_MAX)} ` +
      `${headerField(fields.appName, APP_NAME_MAX)} - ${headerField(fields.msgId, MSG_ID_MAX)} ${sd} ${fields.text}`,
    'utf8',
  );
}

/** A header field as RFC 5424 wants it: printable US-ASCII, no spaces, "-" when empty. */
function headerField(text: string, max: number): string {
  const clean = text.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean === '' ? '-' : clean;
}

/**
 * Sends a device's log lines as RFC 5424 syslog over UDP (RFC 5426, one message a datagram),
 * best effort like a printer's: a send that fails is dropped, never retried or thrown.
 */
export class SyslogSender {
  private readonly target: { host: string; port: number };
  private readonly appName: string;
  private socket: Socket | undefined;
  private readonly pending = new Set<Promise<void>>();

  constructor(target: { host: string; port: number }, appName: string) {
    this.target = target;
    this.appName = appName;
  }

  /** Sends one message now; close() waits for it to leave. */
  send(msgId: string, text: string, jobId?: string): void {
    const socket = this.open();
    const message = formatSyslog({
      time: new Date(),
      hostname: hostname(),
      appName: this.appName,
      msgId,
      text,
      ...(jobId !== undefined ? { jobId } : {}),
    });
    const sent = new Promise<void>((resolve) => {
      socket.send(message, this.target.port, this.target.host, () => resolve());
    });
    this.pending.add(sent);
    void sent.then(() => this.pending.delete(sent));
  }

  /** Waits for messages on their way, then releases the socket. */
  async close(): Promise<void> {
    await Promise.all(this.pending);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private open(): Socket {
    if (!this.socket) {
      this.socket = createSocket(isIPv6(this.target.host) ? 'udp6' : 'udp4');
      this.socket.on('error', () => {});
    }
    return this.socket;
  }
}
