/**
 * The connection-wide cap on receive windows: the sum of every stream's window never
 * exceeds it, so the bytes a peer may make us buffer are bounded whatever it does.
 */
export class MemoryBudget {
  readonly cap: number;
  private reservedBytes = 0;

  constructor(cap: number) {
    if (!Number.isInteger(cap) || cap <= 0)
      throw new RangeError(`memory cap must be a positive integer, got ${cap}`);
    this.cap = cap;
  }

  /** Bytes promised to peers as window. */
  get reserved(): number {
    return this.reservedBytes;
  }

  /** Bytes that can still be promised. */
  get available(): number {
    return this.cap - this.reservedBytes;
  }

  /** Reserves n bytes if they fit; returns whether they did. */
  tryReserve(n: number): boolean {
    if (n > this.available) return false;
    this.reservedBytes += n;
    return true;
  }

  /** Gives back bytes reserved earlier. */
  release(n: number): void {
    this.reservedBytes = Math.max(0, this.reservedBytes - n);
  }
}
