/** One problem in a config file: which key, what it held, what was expected. */
export interface ConfigIssue {
  key: string;
  /** What the key held, secrets masked; "" when it is not shown (an unknown key's value). */
  value: string;
  expected: string;
}

/** How an unknown key's issue begins (its value is never shown: it may be a misspelt secret). */
export const UNKNOWN_SETTING = 'unknown setting';

/** The names of the unknown keys among the issues ("tokn" of "cloud.tokn"): hide their values too. */
export function unknownSettingNames(issues: readonly ConfigIssue[]): Set<string> {
  return new Set(
    issues
      .filter((i) => i.value === '' && i.expected.startsWith(UNKNOWN_SETTING))
      .map((i) => i.key.split('.').at(-1) ?? i.key),
  );
}

/** One line for a person: "key: got value; expected …", or "key: …" when the value is not shown. */
export function describeIssue(issue: ConfigIssue): string {
  return issue.value === ''
    ? `${issue.key}: ${issue.expected}`
    : `${issue.key}: got ${issue.value}; expected ${issue.expected}`;
}

/** A config file that cannot be used; lists every problem, not only the first. */
export class ConfigError extends Error {
  readonly code = 'MFP_ERR_CONFIG';
  readonly file: string;
  readonly issues: ConfigIssue[];

  constructor(file: string, issues: ConfigIssue[]) {
    super(`invalid config ${file}:\n${issues.map((i) => `  - ${describeIssue(i)}`).join('\n')}`);
    this.name = 'ConfigError';
    this.file = file;
    this.issues = issues;
  }
}
