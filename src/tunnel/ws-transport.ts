import WebSocket from 'ws';
import { type BufferReclaimer, processBufferReclaimer } from '../runtime/buffer-reclaimer.ts';
import type { TunnelTransport } from './transport.ts';

export interface WsTransportOptions {
  /** Bytes handed to the socket and not yet written out above which canSend() is false (default 1 MiB). */
  highWaterMark?: number;
  /** Told of every binary message each way (default: the process's, see buffer-reclaimer.ts). */
  reclaimer?: BufferReclaimer;
  /**
   * The caller hands the socket's binary messages in (feed) instead of the transport listening
   * for them: a socket whose owner already listens needs no second 'message' listener.
   */
  fed?: boolean;
}

/** A WebSocket transport that can also be handed binary messages (see WsTransportOptions.fed). */
export interface WsTunnelTransport extends TunnelTransport {
  /** Delivers a binary message received on the socket to the multiplexer. */
  feed(data: WebSocket.RawData): void;
}

/** A WebSocket close reason holds at most 123 bytes of UTF-8. */
function closeReason(message: string): string {
  let reason = message;
  while (Buffer.byteLength(reason) > 123) reason = reason.slice(0, -1);
  return reason;
}

/**
 * A push-line WebSocket as a tunnel transport: binary messages only (text frames stay
 * with the control channel's own listener). Backpressure is counted from ws's write
 * callbacks, so 'drain' fires when the socket has taken the bytes.
 */
export function wsTunnelTransport(ws: WebSocket, options: WsTransportOptions = {}): WsTunnelTransport {
  const highWaterMark = options.highWaterMark ?? 1024 * 1024;
  const reclaimer = options.reclaimer ?? processBufferReclaimer();
  let unwritten = 0;
  let blocked = false;
  const drainCbs: (() => void)[] = [];
  const onWritten = (bytes: number) => () => {
    unwritten -= bytes;
    if (blocked && unwritten < highWaterMark) {
      blocked = false;
      for (const cb of drainCbs) cb();
    }
  };
  const canSend = () => ws.readyState === WebSocket.OPEN && unwritten < highWaterMark;
  let deliver: ((frames: Buffer) => void) | undefined;
  const feed = (data: WebSocket.RawData) => {
    const message = Buffer.isBuffer(data)
      ? data
      : Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.from(data);
    deliver?.(message);
    reclaimer.relayed(message.length);
  };
  return {
    feed,
    send(frames) {
      if (ws.readyState !== WebSocket.OPEN) return;
      unwritten += frames.length;
      if (unwritten >= highWaterMark) blocked = true;
      ws.send(frames, { binary: true }, onWritten(frames.length));
      reclaimer.relayed(frames.length);
    },
    canSend,
    onDrain(cb) {
      drainCbs.push(cb);
    },
    onFrames(cb) {
      deliver = cb;
      if (!options.fed)
        ws.on('message', (data, isBinary) => {
          if (isBinary) feed(data);
        });
    },
    onClose(cb) {
      ws.once('close', (code, reason) =>
        cb(`WebSocket closed with ${code}${reason.length ? ` ${reason}` : ''}`),
      );
    },
    close(error) {
      if (ws.readyState === WebSocket.CLOSED || ws.readyState === WebSocket.CLOSING) return;
      if (error) ws.close(1002, closeReason(error.message));
      else ws.close(1000, 'tunnel connection closed');
    },
  };
}
