import type { YAMLError } from 'yaml';
import type { ConfigIssue } from './config-error.ts';

/** What each YAML syntax error means for someone editing a config file, and what to do. */
const PLAIN: Partial<Record<YAMLError['code'], string>> = {
  TAB_AS_INDENT: 'a tab indents this line; YAML indents with spaces only',
  BAD_INDENT:
    'this line is not indented like the lines of its section (items of one section start at the same column)',
  BLOCK_AS_IMPLICIT_KEY:
    'a value cannot hold settings on the same line: put each "name: value" on its own line, indented under its section',
  MULTILINE_IMPLICIT_KEY:
    'a setting name must end with ":" on its own line (is a ":" missing, as in "name: value"?)',
  DUPLICATE_KEY: 'this setting appears twice in the same section; keep one',
  BAD_SCALAR_START: 'a value cannot start with this character; put the value in quotes',
  BAD_DQ_ESCAPE:
    'a "\\" in a double-quoted value starts an unknown escape; use single quotes, or write "\\\\"',
  MULTIPLE_DOCS: 'the file holds more than one YAML document (a "---" line); keep one',
  BAD_ALIAS: 'an alias (*name) names no anchor (&name) above it',
};

/** The message without yaml's own " at line L, column C:" and the source excerpt after it. */
function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}

/** Says in plain words what is wrong in the YAML, where: key "file:line:col" (no value shown). */
export function yamlIssue(file: string, error: YAMLError): ConfigIssue {
  const at = error.linePos?.[0];
  const where = at ? `${file}:${at.line}:${at.col}` : file;
  const yamlText = firstLine(error.message);
  let words = PLAIN[error.code];
  if (error.code === 'MISSING_CHAR' && /quote/i.test(yamlText))
    words = 'a quoted value is not closed (its closing quote is missing)';
  if (error.code === 'BAD_INDENT' && /^Flow/.test(yamlText))
    words = 'a "[" or "{" opened above is not closed';
  return { key: where, value: '', expected: words ?? `not valid YAML: ${yamlText}` };
}

/** A document whose values cannot be built (an alias to nothing, or too many aliases). */
export function yamlValueIssue(file: string, error: Error): ConfigIssue {
  const unresolved = /^Unresolved alias.*: (.+)$/.exec(error.message)?.[1];
  const words = unresolved
    ? `the alias *${unresolved} names no anchor &${unresolved} above it`
    : /alias/i.test(error.message)
      ? 'too many aliases (*name): the file would expand too much'
      : `not valid YAML: ${error.message}`;
  return { key: file, value: '', expected: words };
}
