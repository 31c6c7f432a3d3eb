import { hash } from 'node:crypto';

/** Words in a fingerprint: 128 bits of the id's SHA-256. */
const WORDS = 4;
const EMPTY = 0;

/**
 * A bounded set of recently seen ids: a push retried on another line after a lost ack
 * is acknowledged again but handed on only once.
 *
 * Its memory is fixed when it is made (24 bytes per id: a 128-bit fingerprint in a ring,
 * two 32-bit slots of an open-addressing index), not grown as ids arrive: a Set of
 * strings took ~87 bytes per id and filled over hours (4,096 ids at one push every 3 s
 * is 3 h 25 min), which a soak cannot tell from a leak (docs/memory.md). Written here
 * because no library keeps a fixed-size, insertion-ordered set of fingerprints.
 *
 * Two ids are taken as one only when their SHA-256 agree in 128 bits: among 4,096
 * remembered ids the chance that a new one is mistaken is below 2^-116.
 */
export class RecentIds {
  private readonly capacity: number;
  /** Fingerprints in arrival order, `capacity` of them, the oldest at `next` once full. */
  private readonly ring: Uint32Array;
  /** Open addressing with linear probing: ring slot + 1, or EMPTY. */
  private readonly index: Uint32Array;
  private readonly mask: number;
  private next = 0;
  private count = 0;

  constructor(capacity = 4096) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`RecentIds capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
    this.ring = new Uint32Array(capacity * WORDS);
    let size = 2;
    while (size < capacity * 2) size *= 2;
    this.index = new Uint32Array(size);
    this.mask = size - 1;
  }

  /** Whether the id was seen (and not yet forgotten for newer ones). */
  has(id: string): boolean {
    return this.find(fingerprint(id)) >= 0;
  }

  /** Remembers an id; returns false when it had been seen already. */
  add(id: string): boolean {
    const print = fingerprint(id);
    if (this.find(print) >= 0) return false;
    const slot = this.next;
    if (this.count === this.capacity) this.unindex(slot);
    else this.count++;
    this.ring.set(print, slot * WORDS);
    let at = (print[0] ?? 0) & this.mask;
    while (this.index[at] !== EMPTY) at = (at + 1) & this.mask;
    this.index[at] = slot + 1;
    this.next = (slot + 1) % this.capacity;
    return true;
  }

  /** The index position holding this fingerprint, or -1. */
  private find(print: Uint32Array): number {
    let at = (print[0] ?? 0) & this.mask;
    for (;;) {
      const entry = this.index[at] ?? EMPTY;
      if (entry === EMPTY) return -1;
      if (this.sameAs(entry - 1, print)) return at;
      at = (at + 1) & this.mask;
    }
  }

  private sameAs(slot: number, print: Uint32Array): boolean {
    const base = slot * WORDS;
    for (let word = 0; word < WORDS; word++) if (this.ring[base + word] !== print[word]) return false;
    return true;
  }

  /** Takes a ring slot's fingerprint out of the index (backward-shift deletion, no tombstones). */
  private unindex(slot: number): void {
    let hole = this.find(this.ring.subarray(slot * WORDS, slot * WORDS + WORDS));
    let at = hole;
    for (;;) {
      at = (at + 1) & this.mask;
      const entry = this.index[at] ?? EMPTY;
      if (entry === EMPTY) break;
      const home = (this.ring[(entry - 1) * WORDS] ?? 0) & this.mask;
      // The entry may fill the hole only if its home is not between the hole and it.
      const distanceToHome = (at - home) & this.mask;
      const distanceToHole = (at - hole) & this.mask;
      if (distanceToHome >= distanceToHole) {
        this.index[hole] = entry;
        hole = at;
      }
    }
    this.index[hole] = EMPTY;
  }
}

/** Reused for every lookup: nothing is allocated per id but the digest itself. */
const scratch = new Uint32Array(WORDS);

function fingerprint(id: string): Uint32Array {
  const digest = hash('sha256', id, 'buffer');
  for (let word = 0; word < WORDS; word++) scratch[word] = digest.readUInt32LE(word * 4);
  return scratch;
}
