import type { z } from 'zod';

/** What a value of each type looks like in a YAML file, in the words of someone editing it. */
const TYPE_WORDS: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  bigint: 'a whole number',
  boolean: 'true or false',
  object: 'a section of settings ("name: value" lines, indented)',
  array: 'a list (lines starting with "- ")',
  record: 'a section of "name: value" lines',
  date: 'a date',
  null: 'nothing (null)',
};

/** The YAML type of a value as a person would name it: "a number", "text", "a list". */
function typeOf(input: unknown): string {
  if (input === null) return 'nothing (null)';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a section';
  if (typeof input === 'string') return 'text';
  if (typeof input === 'boolean') return input ? 'true' : 'false';
  return `a ${typeof input}`;
}

function limit(
  kind: 'small' | 'big',
  issue: { origin?: string; inclusive?: boolean },
  bound: unknown,
): string {
  const n = String(bound);
  const atLeast =
    kind === 'small'
      ? issue.inclusive
        ? 'at least'
        : 'more than'
      : issue.inclusive
        ? 'at most'
        : 'less than';
  switch (issue.origin) {
    case 'string':
      return `${atLeast} ${n} character${n === '1' ? '' : 's'}`;
    case 'array':
    case 'set':
      return `${atLeast} ${n} item${n === '1' ? '' : 's'}`;
    default:
      return `a number ${atLeast} ${n}`;
  }
}

/**
 * A zod error map that says what a config key needs in plain words ("a whole number at
 * least 1", "one of: normal, power-saving") instead of zod's own text ("Invalid input:
 * expected int, received number"). Messages written in the schemas take precedence (zod
 * prefers a schema's own message to the map passed to a parse).
 */
export const plainIssueText: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type': {
      const wanted = TYPE_WORDS[issue.expected] ?? `a ${issue.expected}`;
      const sameKind =
        typeof issue.input === 'number' && (issue.expected === 'int' || issue.expected === 'bigint');
      return issue.input === undefined || sameKind ? wanted : `${wanted}, not ${typeOf(issue.input)}`;
    }
    case 'too_small':
      return limit('small', issue, issue.minimum);
    case 'too_big':
      return limit('big', issue, issue.maximum);
    case 'invalid_value':
      return issue.values.length === 1
        ? JSON.stringify(issue.values[0])
        : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'regex' ? `text matching ${issue.pattern}` : `a valid ${issue.format}`;
    case 'not_multiple_of':
      return `a multiple of ${String(issue.divisor)}`;
    case 'invalid_union':
      return 'one of the forms this setting accepts (see its description in the docs)';
    case 'invalid_key':
      return 'a valid name';
    default:
      return undefined;
  }
};
