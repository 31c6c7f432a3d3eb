import leven from 'leven';
import type { z } from 'zod';
import { allSettings, settingsAt, settingsBelow } from './schema-keys.ts';

/** "prot" for "port": two edits for Levenshtein, one slip of the fingers; counted as one. */
function swapsTwoLetters(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  const i = [...a].findIndex((c, k) => c !== b[k]);
  return i >= 0 && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
}

/** Edit distance with a swap of two neighbouring letters counted as one edit. */
function typoEdits(a: string, b: string, max: number): number {
  return swapsTwoLetters(a, b) ? 1 : leven(a, b, { maxDistance: max + 1 });
}

/** How many edits still count as a typo: one for short names, up to three for long ones. */
function typoDistance(name: string): number {
  return name.length <= 4 ? 1 : name.length <= 9 ? 2 : 3;
}

/**
 * The setting an unknown key was probably meant to be: a sibling a typo or two away
 * ("tokn" → "token", case ignored), else a setting of the same name in another section
 * ("cloud.stateDir" → "gateway.stateDir"). Undefined when nothing is close.
 */
export function didYouMean(
  schema: z.core.$ZodType,
  section: readonly PropertyKey[],
  name: string,
): string | undefined {
  const prefix = section.map(String);
  const lower = name.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const sibling of settingsAt(schema, section)) {
    const distance = typoEdits(lower, sibling.toLowerCase(), typoDistance(name));
    if (distance <= typoDistance(name) && (!best || distance < best.distance))
      best = { name: sibling, distance };
  }
  if (best) return [...prefix, best.name].join('.');
  // Deeper in this section ("devices.1.community" → "devices.1.snmp.community"), near-typos too.
  const named = (path: string) => {
    const last = path.split('.').at(-1)?.toLowerCase() ?? '';
    return typoEdits(lower, last, typoDistance(name)) <= typoDistance(name);
  };
  const below = settingsBelow(schema, section).filter(named);
  if (below.length === 1) return [...prefix, below[0]].join('.');
  // Elsewhere only when unambiguous and outside lists (a list item's index would be a guess).
  const elsewhere = [...new Set(allSettings(schema).filter((p) => named(p) && !/\.\d+(\.|$)/.test(p)))];
  return elsewhere.length === 1 ? elsewhere[0] : undefined;
}
