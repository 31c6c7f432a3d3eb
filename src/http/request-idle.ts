import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Ends a request whose client goes silent for idleMs before its body is complete (a slow or
 * stalled upload): answers 408 when nothing has been answered yet, then destroys the request,
 * so whatever reads the body (a spool file) fails and cleans up. Disarms itself once the body
 * has arrived or the request has closed; the returned function disarms it earlier.
 */
export function limitRequestIdle(
  req: IncomingMessage,
  res: ServerResponse,
  idleMs: number,
  onIdle?: () => void,
): () => void {
  // Injected requests (Fastify's inject, for tests) have no socket to time.
  if (req.complete || idleMs <= 0 || typeof req.setTimeout !== 'function') return () => {};
  const timedOut = () => {
    disarm();
    onIdle?.();
    if (res.headersSent || res.writableEnded) {
      req.destroy();
      return;
    }
    const body = JSON.stringify({
      error: 'request-timeout',
      message: `nothing arrived for ${idleMs} ms before the request was complete`,
    });
    res.writeHead(408, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    });
    res.end(body, () => req.destroy());
  };
  const disarm = () => {
    req.socket?.setTimeout?.(0);
    req.off('timeout', timedOut);
    req.off('end', disarm);
    req.off('close', disarm);
  };
  // On the request, not the socket: Node's server destroys a timed-out socket whose request
  // and response nobody listens to for 'timeout'.
  req.setTimeout(idleMs);
  req.on('timeout', timedOut);
  req.once('end', disarm);
  req.once('close', disarm);
  return disarm;
}
