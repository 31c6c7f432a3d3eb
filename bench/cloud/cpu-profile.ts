/**
 * Where a process spent its CPU, from a V8 .cpuprofile (node --cpu-prof): per function, its
 * self time (samples in it) and its total time (samples in it or anything it called, each
 * sample counted once even under recursion). bench:cloud prints the top of both.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** The parts of a .cpuprofile file read here. */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** One function's share of the profile. */
export interface HotSpot {
  function: string;
  /** file:line (1-based), shortened to the part from src/ or node_modules/ on. */
  location: string;
  selfMs: number;
  selfPercent: number;
  totalMs: number;
  totalPercent: number;
}

function locationOf(frame: ProfileNode['callFrame']): string {
  if (!frame.url) return '';
  const url = frame.url.replace(/^file:\/\//, '');
  const short = /(?:^|\/)((?:src|node_modules|dist|bench)\/.*)$/.exec(url)?.[1] ?? url;
  return `${short}:${frame.lineNumber + 1}`;
}

/** Functions by self time and by total time, the top `limit` of each, from a profile. */
export function hotSpots(profile: CpuProfile, limit = 20): { bySelf: HotSpot[]; byTotal: HotSpot[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const keyOf = (node: ProfileNode) =>
    `${node.callFrame.functionName || '(anonymous)'}\t${locationOf(node.callFrame)}`;

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    all += us;
    const leaf = byId.get(id);
    if (!leaf) return;
    self.set(keyOf(leaf), (self.get(keyOf(leaf)) ?? 0) + us);
    const seen = new Set<string>();
    for (let node: ProfileNode | undefined = leaf; node; node = byId.get(parent.get(node.id) ?? -1)) {
      const key = keyOf(node);
      if (seen.has(key)) continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + us);
    }
  });

  const spot = (key: string): HotSpot => {
    const [fn = '', location = ''] = key.split('\t');
    const selfUs = self.get(key) ?? 0;
    const totalUs = total.get(key) ?? 0;
    const percent = (us: number) => (all === 0 ? 0 : Math.round((1000 * us) / all) / 10);
    return {
      function: fn,
      location,
      selfMs: Math.round(selfUs / 1000),
      selfPercent: percent(selfUs),
      totalMs: Math.round(totalUs / 1000),
      totalPercent: percent(totalUs),
    };
  };
  const top = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([key]) => spot(key));
  return { bySelf: top(self), byTotal: top(total) };
}
