import type { IncomingMessage, ServerResponse } from 'node:http';

/** The timers the pace check runs on (a Clock fits). */
export interface PaceTimers {
  setTimeout(fn: () => void, delayMs: number): unknown;
  clearTimeout(handle: never): void;
}

/** How fast a request body must arrive, besides never going silent for idleMs. */
export interface BodyPace {
  /** Fewer bytes than this in any idleMs window ends the request (a trickle). */
  minBytesPerWindow: number;
  timers: PaceTimers;
}

/**
 * Ends a request whose client goes silent for idleMs before its body is complete (a stalled
 * upload), or, with `pace`, sends less than `minBytesPerWindow` in any idleMs (a trickle of a
 * byte every few seconds, which is never silent): answers 408 when nothing has been answered
 * yet, then destroys the request, so whatever reads the body (a spool file) fails and cleans
 * up. Disarms itself once the body has arrived or the request has closed; the returned
 * function disarms it earlier.
 */
export function limitRequestIdle(
  req: IncomingMessage,
  res: ServerResponse,
  idleMs: number,
  onIdle?: (why: string) => void,
  pace?: BodyPace,
): () => void {
  // Injected requests (Fastify's inject, for tests) have no socket to time.
  if (req.complete || idleMs <= 0 || typeof req.setTimeout !== 'function') return () => {};
  // A request without a body has nothing more to wait for: its handler may take its time.
  const hasBody =
    req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (!hasBody) return () => {};
  let window: unknown;
  const end = (why: string) => {
    disarm();
    onIdle?.(why);
    if (res.headersSent || res.writableEnded) {
      req.destroy();
      return;
    }
    const body = JSON.stringify({ error: 'request-timeout', message: why });
    res.writeHead(408, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    });
    res.end(body, () => req.destroy());
  };
  const timedOut = () => end(`nothing arrived for ${idleMs} ms before the request was complete`);
  const disarm = () => {
    req.socket?.setTimeout?.(0);
    req.off('timeout', timedOut);
    req.off('end', disarm);
    req.off('close', disarm);
    if (window !== undefined) pace?.timers.clearTimeout(window as never);
    window = undefined;
  };
  // On the request, not the socket: Node's server destroys a timed-out socket whose request
  // and response nobody listens to for 'timeout'.
  req.setTimeout(idleMs);
  req.on('timeout', timedOut);
  req.once('end', disarm);
  req.once('close', disarm);
  if (pace && pace.minBytesPerWindow > 0) {
    let seen = req.socket.bytesRead;
    const check = () => {
      const now = req.socket.bytesRead;
      if (now - seen < pace.minBytesPerWindow) {
        end(`fewer than ${pace.minBytesPerWindow} bytes arrived in ${idleMs} ms: the upload is too slow`);
        return;
      }
      seen = now;
      window = pace.timers.setTimeout(check, idleMs);
    };
    window = pace.timers.setTimeout(check, idleMs);
  }
  return disarm;
}
