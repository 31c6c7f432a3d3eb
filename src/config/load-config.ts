import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { isSecretKey, maskSecrets } from '../secrets/mask.ts';
import { ConfigError, type ConfigIssue, UNKNOWN_SETTING } from './config-error.ts';
import { didYouMean } from './did-you-mean.ts';
import { plainIssueText } from './issue-text.ts';
import { requiredSettingsAt, settingsAt } from './schema-keys.ts';
import { yamlIssue, yamlValueIssue } from './yaml-errors.ts';

const ENV_REF = /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$/;

/**
 * Shows a value in an error without ever printing a secret: a secret key's value is not
 * shown at all, URL credentials and nested secrets are masked (src/secrets/mask.ts).
 */
function show(key: string, value: unknown): string {
  if (value === undefined) return 'nothing';
  if (isSecretKey(key)) return 'a hidden value (secrets are not shown)';
  const text = JSON.stringify(maskSecrets(value, key)) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

/** Replaces "${env:NAME}" strings with the environment's value; a missing variable is an issue. */
function resolveEnvRefs(
  node: unknown,
  path: string[],
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[],
): unknown {
  if (typeof node === 'string') {
    const m = ENV_REF.exec(node);
    if (!m) return node;
    const name = m[1] as string;
    const value = env[name];
    if (value === undefined) {
      issues.push({ key: path.join('.'), value: node, expected: `environment variable ${name} to be set` });
    }
    return value;
  }
  if (Array.isArray(node)) return node.map((v, i) => resolveEnvRefs(v, [...path, String(i)], env, issues));
  if (node && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [k, resolveEnvRefs(v, [...path, k], env, issues)]),
    );
  }
  return node;
}

/** Sets a nested key, creating objects on the way; used for environment overrides. */
export function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = root;
  for (const k of keys.slice(0, -1)) {
    if (!cur[k] || typeof cur[k] !== 'object') cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1] as string] = value;
}

export interface ParseOptions {
  /** Environment to read ${env:NAME} references and overrides from. */
  env?: NodeJS.ProcessEnv;
  /** Environment variables that override config keys, e.g. { MFPGW_CLOUD_TOKEN: 'cloud.token' }. */
  overrides?: Record<string, string>;
}

/** Validates a parsed YAML/JSON value against a schema, collecting every issue. */
export function parseConfig<S extends z.ZodType>(
  file: string,
  raw: unknown,
  schema: S,
  options: ParseOptions = {},
): z.output<S> {
  const env = options.env ?? process.env;
  const issues: ConfigIssue[] = [];
  const root = (raw ?? {}) as Record<string, unknown>;
  if (typeof root !== 'object' || Array.isArray(root)) {
    throw new ConfigError(file, [
      { key: '(top level)', value: show('', raw), expected: 'a mapping of settings' },
    ]);
  }
  const resolved = resolveEnvRefs(root, [], env, issues) as Record<string, unknown>;
  for (const [name, key] of Object.entries(options.overrides ?? {})) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(resolved, key, value);
  }
  if (issues.length > 0) throw new ConfigError(file, issues);
  const result = schema.safeParse(resolved, { error: plainIssueText });
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    const key = issue.path.map(String).join('.') || '(top level)';
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) issues.push(unknownSetting(schema, issue.path, k));
      continue;
    }
    const value = valueAt(resolved, issue.path);
    if (value === undefined && issue.code === 'invalid_type') {
      issues.push(missing(schema, issue.path, key, issue.message));
      continue;
    }
    issues.push({ key, value: show(key, value), expected: issue.message });
  }
  throw new ConfigError(file, issues);
}

/** A key the schema does not know: never its value (a misspelt "tokn" may hold a secret). */
function unknownSetting(schema: z.ZodType, section: readonly PropertyKey[], name: string): ConfigIssue {
  const key = [...section.map(String), name].join('.');
  const meant = didYouMean(schema, section, name);
  if (meant) return { key, value: '', expected: `${UNKNOWN_SETTING}; did you mean ${meant}?` };
  const known = settingsAt(schema, section);
  const list =
    known.length > 0 && known.length <= 16
      ? `; ${section.length ? 'this section has' : 'the file has sections'}: ${known.join(', ')}`
      : '';
  return { key, value: '', expected: `${UNKNOWN_SETTING} (check the spelling${list})` };
}

/** A required setting or section that is absent: what it needs, not zod's "received undefined". */
function missing(schema: z.ZodType, path: readonly PropertyKey[], key: string, wanted: string): ConfigIssue {
  const needs = requiredSettingsAt(schema, path);
  if (needs.length > 0) {
    return { key, value: '', expected: `required section missing; add "${key}:" with ${joinNames(needs)}` };
  }
  return { key, value: '', expected: `required setting missing; add it: ${wanted}` };
}

/** "url", "url and token", "id, url and token". */
function joinNames(names: string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** Reads a YAML config file and validates it; throws ConfigError naming every bad key. */
export function loadConfigFile<S extends z.ZodType>(
  file: string,
  schema: S,
  options: ParseOptions = {},
): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new ConfigError(file, [
      { key: '(file)', value: file, expected: `a readable YAML file (${reason})` },
    ]);
  }
  return parseConfigText(file, text, schema, options);
}

/**
 * Validates a config file's text as `loadConfigFile` does once it has read it (the setup
 * page checks an edited config before writing it); `file` names it in the errors.
 */
export function parseConfigText<S extends z.ZodType>(
  file: string,
  text: string,
  schema: S,
  options: ParseOptions = {},
): z.output<S> {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0)
    throw new ConfigError(
      file,
      doc.errors.map((e) => yamlIssue(file, e)),
    );
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (err) {
    // An alias to no anchor, or more aliases than yaml expands (maxAliasCount): no crash.
    throw new ConfigError(file, [yamlValueIssue(file, err as Error)]);
  }
  return parseConfig(file, raw, schema, options);
}
