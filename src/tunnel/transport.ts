/**
 * What a tunnel multiplexer needs from the line under it: whole binary messages both
 * ways (one message holds one or more whole tunnel frames), the line's own
 * backpressure, and word when it dies. A push-line WebSocket is one (ws-transport.ts);
 * a test pair in memory is another.
 */
export interface TunnelTransport {
  /** Sends one binary message of whole frames. Called only while canSend() is true, except the final GOAWAY. */
  send(frames: Buffer): void;
  /** False while the line's own send buffer is above its high-water mark. */
  canSend(): boolean;
  /** Calls cb each time canSend() turns true again. */
  onDrain(cb: () => void): void;
  /** Calls cb with each binary message received. */
  onFrames(cb: (frames: Buffer) => void): void;
  /** Calls cb once when the line is gone, with a reason for logs and errors. */
  onClose(cb: (reason: string) => void): void;
  /** Ends the line: orderly without an error, as a protocol failure with one. */
  close(error?: Error): void;
}
