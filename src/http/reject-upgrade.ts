import type { Duplex } from 'node:stream';

/** Refuses a WebSocket upgrade with a bare HTTP status before any WebSocket exists. */
export function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
