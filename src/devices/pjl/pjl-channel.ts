/** A byte pipe to a PJL device, whatever carries it (a 9100 socket, a serial line). */
export interface PjlChannel {
  /** Resolves once the carrier accepted the bytes (after 'drain' when it pushed back). */
  write(chunk: Buffer): Promise<void>;
  /** Subscribes to bytes from the device; returns the unsubscribe function. */
  onData(listener: (chunk: Buffer) => void): () => void;
  /** Subscribes to the carrier going away; returns the unsubscribe function. */
  onLost(listener: (reason: Error) => void): () => void;
  /**
   * Ends the use of the channel (a socket closes; a serial line stays open for the next job).
   * With abort, queued bytes need not be delivered: a socket is reset at once.
   */
  release(options?: { abort?: boolean }): Promise<void>;
}

/** Opens channels to one device; one operation at a time holds a channel. */
export interface PjlLink {
  /** Where the device is, for messages ("127.0.0.1:9100", "/dev/ttyUSB0"). */
  readonly description: string;
  open(signal?: AbortSignal): Promise<PjlChannel>;
  close(): Promise<void>;
}
