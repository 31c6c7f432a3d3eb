import { isSecretKey, MASK, maskUrlCredentials } from '../../secrets/mask.ts';

/**
 * A config file's text shown for editing with its secrets hidden, and an edited text with
 * them put back. Works on lines, not on a parsed document, so it keeps the admin's
 * comments and layout and works on a file that does not even parse (the setup page's
 * usual case).
 *
 * A unit is one line, or a secret's block scalar (`privateKey: |` and its indented lines).
 * Each unit with a secret (a value under a secret key, `key: value` or inside a flow map
 * `{ token: value }`, or a URL's credentials) is shown masked. An edited line equal to the
 * n-th masked unit is replaced by the n-th original one: an admin who leaves `***` keeps
 * the secret, one who types a value sets it. Moving a masked line to where another
 * identical masked line was swaps their secrets, so the page says to type a moved secret.
 */

/** `key: value` pairs in a line: block (`key: value`) or flow (`{ key: value, … }`). */
const PAIR =
  /([A-Za-z0-9_.-]+)(\s*:[ \t]+)("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s,{}[\]#][^,{}[\]#]*?)(?=\s*(?:[,}\]]|\s#|$))/g;
/** A block scalar's header: `key: |`, `key: >-` … */
const BLOCK = /^(\s*(?:-\s+)?)([A-Za-z0-9_.-]+)(\s*:\s*)[|>][+-]?\d*\s*(#.*)?$/;

const QUOTED_MASK = `"${MASK}"`;

/** Keys whose values are hidden: the secrets, and keys named in `also` (a file's unknown keys). */
type IsHidden = (key: string) => boolean;
const hiding =
  (also: ReadonlySet<string>): IsHidden =>
  (key) =>
    isSecretKey(key) || also.has(key);

function maskLine(line: string, hidden: IsHidden): string {
  return maskUrlCredentials(
    line.replace(PAIR, (all, key: string, sep: string, value: string) =>
      hidden(key) && value !== '""' && value !== "''" ? `${key}${sep}${QUOTED_MASK}` : all,
    ),
  );
}

interface Unit {
  original: string;
  masked: string;
}

const indentOf = (line: string) => line.length - line.trimStart().length;

function units(text: string, hidden: IsHidden): Unit[] {
  const lines = text.split('\n');
  const out: Unit[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const block = BLOCK.exec(line);
    if (block && hidden(block[2] as string)) {
      // The block's lines are blank or indented deeper than its key; trailing blank lines are not its own.
      const keyColumn = (block[1] ?? '').length;
      let end = i + 1;
      while (
        end < lines.length &&
        ((lines[end] as string).trim() === '' || indentOf(lines[end] as string) > keyColumn)
      )
        end++;
      while (end > i + 1 && (lines[end - 1] as string).trim() === '') end--;
      out.push({
        original: lines.slice(i, end).join('\n'),
        masked: `${block[1]}${block[2]}${block[3]?.trimEnd()} ${QUOTED_MASK}`,
      });
      i = end - 1;
      continue;
    }
    out.push({ original: line, masked: maskLine(line, hidden) });
  }
  return out;
}

/** Whether a line still has a secret key whose value is `***`. */
function showsMask(line: string, hidden: IsHidden): boolean {
  for (const [, key, , value] of line.matchAll(PAIR)) {
    if (hidden(key as string) && [MASK, QUOTED_MASK, `'${MASK}'`].includes(value as string)) return true;
  }
  return false;
}

/**
 * The text with every secret shown as `***`, and the values of the keys in `also` (the
 * file's unknown keys: a misspelt `tokn` holds a token).
 */
export function maskConfigText(text: string, also: ReadonlySet<string> = new Set()): string {
  return units(text, hiding(also))
    .map((u) => u.masked)
    .join('\n');
}

/**
 * The edited text with the secrets it still shows as `***` taken from the original.
 * `unresolved`: the masked lines that match nothing in the original (a secret to type).
 */
export function restoreSecrets(
  edited: string,
  original: string,
  also: ReadonlySet<string> = new Set(),
): { text: string; unresolved: string[] } {
  const isHidden = hiding(also);
  const hidden = new Map<string, string[]>();
  for (const u of units(original, isHidden)) {
    if (u.masked === u.original) continue;
    const list = hidden.get(u.masked) ?? [];
    list.push(u.original);
    hidden.set(u.masked, list);
  }
  const used = new Map<string, number>();
  const unresolved: string[] = [];
  const lines = edited.split('\n').map((line) => {
    const key = line.replace(/\s+$/, '');
    const candidates = hidden.get(key);
    if (candidates) {
      const n = used.get(key) ?? 0;
      used.set(key, n + 1);
      return candidates[Math.min(n, candidates.length - 1)] as string;
    }
    if (showsMask(line, isHidden)) unresolved.push(line.trim());
    return line;
  });
  return { text: lines.join('\n'), unresolved };
}
