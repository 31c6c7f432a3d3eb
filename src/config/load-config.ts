import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { isSecretKey, maskSecrets } from '../secrets/mask.ts';
import { ConfigError, type ConfigIssue } from './config-error.ts';

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
  const result = schema.safeParse(resolved);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    const key = issue.path.map(String).join('.') || '(top level)';
    const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : undefined;
    if (unknownKeys) {
      for (const k of unknownKeys) {
        issues.push({
          key: key === '(top level)' ? k : `${key}.${k}`,
          // Never the value: a misspelt key ("tokn") may well hold a secret.
          value: '',
          expected: 'no such setting (check the spelling; see the README)',
        });
      }
      continue;
    }
    issues.push({ key, value: show(key, valueAt(resolved, issue.path)), expected: issue.message });
  }
  throw new ConfigError(file, issues);
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
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({
        key: `(line ${e.linePos?.[0]?.line ?? '?'})`,
        value: 'unparseable YAML',
        expected: e.message.split('\n')[0] ?? 'valid YAML',
      })),
    );
  }
  return parseConfig(file, doc.toJS(), schema, options);
}
