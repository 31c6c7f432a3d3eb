/** One problem in a config file: which key, what it held, what was expected. */
export interface ConfigIssue {
  key: string;
  value: string;
  expected: string;
}

/** A config file that cannot be used; lists every problem, not only the first. */
export class ConfigError extends Error {
  readonly code = 'MFP_ERR_CONFIG';
  readonly file: string;
  readonly issues: ConfigIssue[];

  constructor(file: string, issues: ConfigIssue[]) {
    super(
      `invalid config ${file}:\n${issues.map((i) => `  - ${i.key}: got ${i.value}; expected ${i.expected}`).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.file = file;
    this.issues = issues;
  }
}
