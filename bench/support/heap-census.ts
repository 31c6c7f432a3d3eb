/**
 * A heap snapshot counted by constructor: how many objects of each kind the heap holds and
 * their own size. Two censuses a while apart, diffed, say which kind of object accumulates —
 * the first question about a leak (its retainers are the second, for DevTools).
 */

/** Objects of one kind: `object:Name` for JavaScript objects by constructor, `type:name` else. */
export interface CensusEntry {
  count: number;
  bytes: number;
}

/** The parts of a V8 heap snapshot the census reads. */
interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Node types whose names are the constructor or function name; other types' names are contents (strings' text). */
const NAMED_TYPES = new Set([
  'object',
  'closure',
  'native',
  'hidden',
  'code',
  'synthetic',
  'object shape',
  'array',
]);

/** Counts a heap snapshot's nodes by kind. */
export function heapCensus(snapshotJson: string): Map<string, CensusEntry> {
  const { snapshot, nodes, strings } = JSON.parse(snapshotJson) as HeapSnapshot;
  const fields = snapshot.meta.node_fields;
  const types = snapshot.meta.node_types[0];
  const stride = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const census = new Map<string, CensusEntry>();
  for (let at = 0; at < nodes.length; at += stride) {
    const type = types[nodes[at + typeAt] as number] ?? 'unknown';
    const name = NAMED_TYPES.has(type) ? (strings[nodes[at + nameAt] as number] ?? '') : '';
    const key = `${type}:${name.length > 80 ? `${name.slice(0, 80)}…` : name}`;
    const entry = census.get(key) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += nodes[at + sizeAt] as number;
    census.set(key, entry);
  }
  return census;
}

/** What grew from one census to the next, by kind, largest growth in bytes first. */
export function censusGrowth(
  before: Map<string, CensusEntry>,
  after: Map<string, CensusEntry>,
): { kind: string; count: number; bytes: number }[] {
  const kinds = new Set([...before.keys(), ...after.keys()]);
  return [...kinds]
    .map((kind) => ({
      kind,
      count: (after.get(kind)?.count ?? 0) - (before.get(kind)?.count ?? 0),
      bytes: (after.get(kind)?.bytes ?? 0) - (before.get(kind)?.bytes ?? 0),
    }))
    .filter((g) => g.count !== 0 || g.bytes !== 0)
    .sort((a, b) => b.bytes - a.bytes);
}
