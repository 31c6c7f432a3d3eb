/**
 * Command-line options of a benchmark script, as `node:util`'s parseArgs reads them, plus
 * `--help` (`-h`): the script's own leading doc comment, which says what it measures and which
 * options it takes, so the help cannot drift from the text beside the code. An unknown option or
 * a missing value ends the script with a one-line error and exit status 2, not a stack trace;
 * so does a value the script cannot use (`refuseArgs`).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ParseArgsConfig, parseArgs } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The text of the first `/** … *\/` comment of a source file, without its ` * ` margins. */
export function leadingDocComment(source: string): string {
  const match = /^\s*\/\*\*([\s\S]*?)\*\//.exec(source);
  if (!match?.[1]) return '';
  return match[1]
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

/**
 * Parses `argv` (the script's arguments) against `options`. With `--help` it prints the doc
 * comment of the script at `scriptUrl` (its `import.meta.url`) and exits 0.
 */
export function benchArgs<const O extends Options>(
  scriptUrl: string,
  options: O,
  argv: string[] = process.argv.slice(2),
) {
  const script = fileURLToPath(scriptUrl);
  const name = benchName(scriptUrl);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(`${name}\n\n${leadingDocComment(readFileSync(script, 'utf8'))}`);
    process.exit(0);
  }
  let parsed: ReturnType<typeof parseArgs<{ options: O; args: string[]; strict: true }>>;
  try {
    parsed = parseArgs({ options, args: argv, strict: true });
  } catch (error) {
    refuseArgs(scriptUrl, (error as Error).message);
  }
  return parsed.values;
}

/** Ends the script at `scriptUrl` for an option value it cannot use: one line, exit status 2. */
export function refuseArgs(scriptUrl: string, problem: string): never {
  const name = benchName(scriptUrl);
  console.error(`${name}: ${problem}\n(${name} --help says what it takes)`);
  process.exit(2);
}

function benchName(scriptUrl: string): string {
  return `bench/${basename(fileURLToPath(scriptUrl))}`;
}
