/**
 * A bounded set of recently seen ids: a push retried on another line after a lost ack
 * is acknowledged again but handed on only once.
 */
export class RecentIds {
  private readonly ids = new Set<string>();
  private readonly capacity: number;

  constructor(capacity = 4096) {
    this.capacity = capacity;
  }

  /** Whether the id was seen (and not yet forgotten for newer ones). */
  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Remembers an id; returns false when it had been seen already. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
    return true;
  }
}
