import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parse, stringify } from 'yaml';
import { parseDuration } from '../../calendar/duration.ts';
import type { Clock } from '../../clock/clock.ts';
import { ConfigError, type ConfigIssue, unknownSettingNames } from '../../config/config-error.ts';
import {
  type GatewayConfig,
  loadGatewayConfig,
  parseGatewayConfig,
  parseGatewayConfigText,
} from '../../config/gateway-config.ts';
import type { Logger } from '../../log/logger.ts';
import { isPasswordHash } from '../../secrets/password-hash.ts';
import { writeFileAtomic } from '../../storage/atomic-file.ts';
import { IMPORTED_CONFIG_MODE } from '../first-boot/boot-config.ts';
import { AllowedHosts } from './allowed-hosts.ts';
import { registerAuth } from './auth.ts';
import { maskConfigText, restoreSecrets } from './config-text.ts';
import { createStatusApp } from './http-server.ts';
import { LoginThrottle } from './login-throttle.ts';
import { configErrorsPage, messagePage, onboardingPage } from './pages.ts';
import { MIN_PASSWORD_LENGTH, PasswordStore } from './password-store.ts';
import { serverUrl } from './server-url.ts';
import { SessionStore } from './session-store.ts';
import { SetupCode } from './setup-code.ts';

/** The largest config the setup page's editor takes, characters (a real one is a few KB). */
export const MAX_CONFIG_TEXT = 256 * 1024;

/** Where the setup page listens and keeps the password when the config cannot say. */
export const SETUP_DEFAULTS = {
  host: '0.0.0.0',
  port: 8080,
  stateDir: '/var/lib/mfp-gateway',
  setupWindowMs: 60 * 60_000,
};

/** What setup mode could read from a config that does not validate as a whole. */
export interface SetupSettings {
  listen: { host: string; port: number };
  stateDir: string;
  passwordHash: string | undefined;
  auth: 'password' | 'none';
  /** `status.hostnames`: names besides the box's addresses that `Host` may carry. */
  hostnames: string[];
  /** `status.setupWindow`: how long after start the onboarding form takes the setup code. */
  setupWindowMs: number;
}

/**
 * Reads, key by key, the settings the setup page needs from a config file that may not
 * parse or validate: each one that is usable is taken, the others default.
 */
export function peekSetupSettings(configFile: string): SetupSettings {
  let raw: Record<string, Record<string, unknown>> = {};
  try {
    const parsed = parse(readFileSync(configFile, 'utf8')) as unknown;
    if (parsed && typeof parsed === 'object') raw = parsed as typeof raw;
  } catch {
    // Missing or unparseable: the defaults below.
  }
  const status = (raw.status ?? {}) as Record<string, unknown>;
  const listen = (status.listen ?? {}) as Record<string, unknown>;
  const host =
    typeof listen.host === 'string' && (isIP(listen.host) || listen.host === 'localhost')
      ? listen.host
      : SETUP_DEFAULTS.host;
  const port =
    Number.isInteger(listen.port) && (listen.port as number) >= 0 && (listen.port as number) <= 65535
      ? (listen.port as number)
      : SETUP_DEFAULTS.port;
  const stateDir = typeof raw.gateway?.stateDir === 'string' ? raw.gateway.stateDir : SETUP_DEFAULTS.stateDir;
  const hash =
    typeof status.passwordHash === 'string' && isPasswordHash(status.passwordHash)
      ? status.passwordHash
      : undefined;
  const hostnames = Array.isArray(status.hostnames)
    ? status.hostnames.filter((n): n is string => typeof n === 'string')
    : [];
  return {
    listen: { host, port },
    stateDir,
    passwordHash: hash,
    auth: status.auth === 'none' ? 'none' : 'password',
    hostnames,
    setupWindowMs: durationOr(status.setupWindow, SETUP_DEFAULTS.setupWindowMs),
  };
}

function durationOr(value: unknown, fallback: number): number {
  try {
    return typeof value === 'string' ? parseDuration(value) : fallback;
  } catch {
    return fallback;
  }
}

export interface SetupPageOptions {
  clock: Clock;
  logger: Logger;
  configFile: string;
  /** What is wrong with the config file now (ignored when the file is missing). */
  issues: ConfigIssue[];
  settings: SetupSettings;
  env?: NodeJS.ProcessEnv;
}

/** The setup page, running until a valid config is in place. */
export interface SetupPage {
  /** The page's URL once it listens, or null when it could not (logged). */
  readonly ready: Promise<string | null>;
  /** Resolves with the config once it validates (fixed by hand, or written by the onboarding form). */
  readonly configured: Promise<GatewayConfig>;
  stop(): Promise<void>;
}

function field(body: unknown, name: string): string {
  const value = body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value.trim() : '';
}

/**
 * Setup mode of `mfp-gateway run`: instead of exiting (and crash-looping) on a missing or
 * invalid config, serve a page that shows each problem (key, value, expected) or, with no
 * config at all, an onboarding form (gateway id, cloud URL and token, page password) that
 * writes one. Behind the login when a password is known, open on a first boot.
 */
export function startSetupPage(options: SetupPageOptions): SetupPage {
  const { clock, settings, configFile } = options;
  const log = options.logger.child({ part: 'setup' });
  const passwords = new PasswordStore({ configuredHash: settings.passwordHash, stateDir: settings.stateDir });
  let issues = options.issues;
  let resolveConfigured: (config: GatewayConfig) => void = () => {};
  const configured = new Promise<GatewayConfig>((resolve) => {
    resolveConfigured = resolve;
  });
  // Without the style sheet the forms still work, unstyled: setup must never fail for it.
  const { app, missingAssets } = createStatusApp({ hosts: new AllowedHosts({ names: settings.hostnames }) });
  if (missingAssets.length > 0)
    log.warn({ missing: missingAssets }, 'setup page: some of its files are missing');
  // Onboarding sets the first password: it takes the setup code as the first-password form does.
  const setupCode = passwords.needsPassword()
    ? new SetupCode({ stateDir: settings.stateDir, clock, windowMs: settings.setupWindowMs, logger: log })
    : null;
  const gate = registerAuth(app, {
    mode: settings.auth === 'password' && passwords.hash() !== null ? 'password' : 'none',
    gatewayId: 'setup',
    passwords,
    setupCode,
    sessions: new SessionStore(clock, 60 * 60_000),
    throttle: new LoginThrottle({ clock, freeAttempts: 3, baseDelayMs: 2000, maxDelayMs: 15 * 60_000 }),
    logger: log,
  });
  const loaded = () => loadGatewayConfig(configFile, { env: options.env });
  const fileText = () => {
    try {
      return readFileSync(configFile, 'utf8');
    } catch {
      return '';
    }
  };
  /** The file's unknown keys, whose values the editor hides like secrets (a misspelt `tokn`). */
  const unknownKeys = (text: string): Set<string> => {
    try {
      parseGatewayConfigText(configFile, text, { env: options.env });
      return new Set();
    } catch (err) {
      return err instanceof ConfigError ? unknownSettingNames(err.issues) : new Set();
    }
  };
  /** The file's text for the editor, its secrets and unknown keys' values as ***. */
  const maskedFile = () => {
    const text = fileText();
    return maskConfigText(text, unknownKeys(text));
  };
  /** The editor of the errors page: the setup code is asked while no password protects the page. */
  const editor = (text: string) => ({ text, needsCode: passwords.needsPassword() });
  const starting = (config: GatewayConfig) => {
    const { host, port } = config.status.listen;
    const at = config.status.enabled ? ` Its status page will be at port ${port} (${host}).` : '';
    log.info({ configFile }, 'setup: the config is valid; starting the gateway');
    setImmediate(() => resolveConfigured(config));
    return messagePage('Starting', `The config is valid and the gateway is starting.${at}`, 'info');
  };

  app.get('/health', async () => ({ ok: true, setup: true }));
  app.get('/ready', async (_req, reply) => reply.code(503).send({ ready: false, setup: true }));
  app.get('/', async (req, reply) => {
    void reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
    const token = gate.formToken(req, reply);
    if (!existsSync(configFile)) return onboardingPage(configFile, token, {});
    return configErrorsPage(configFile, issues, token, undefined, editor(maskedFile()));
  });

  app.post('/setup/recheck', async (req, reply) => {
    if (!gate.checkCsrf(req, reply, 'form')) return reply;
    void reply.type('text/html; charset=utf-8');
    try {
      return starting(loaded());
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      issues = err.issues;
      return reply
        .code(422)
        .send(
          configErrorsPage(
            configFile,
            issues,
            gate.formToken(req, reply),
            'Still not valid.',
            editor(maskedFile()),
          ),
        );
    }
  });

  // The config edited in the page: checked as the daemon will load it, written only once valid.
  app.post('/setup/save', async (req, reply) => {
    if (!gate.checkCsrf(req, reply, 'form')) return reply;
    void reply.type('text/html; charset=utf-8');
    const edited = field(req.body, 'config').replace(/\r\n/g, '\n');
    const page = (message: string, problems: ConfigIssue[] = issues) =>
      configErrorsPage(configFile, problems, gate.formToken(req, reply), message, editor(edited));
    if (!existsSync(configFile)) return messagePage('Not saved', `${configFile} is gone; reload the page.`);
    if (
      passwords.needsPassword() &&
      !gate.checkSetupCode(req, reply, (reason) => reply.send(page(`Not saved: ${reason}.`)))
    )
      return reply;
    if (edited.length > MAX_CONFIG_TEXT)
      return reply
        .code(413)
        .send(page(`Not saved: more than ${MAX_CONFIG_TEXT / 1024} KiB; edit the file on the gateway.`));
    const original = fileText();
    const { text, unresolved } = restoreSecrets(edited, original, unknownKeys(original));
    if (unresolved.length > 0) {
      const lines = unresolved.map((l) => `"${l}"`).join(', ');
      return reply
        .code(422)
        .send(page(`Not saved: type the secret on ${lines} (*** keeps a secret only where it was shown).`));
    }
    const content = `${text.replace(/\n*$/, '')}\n`;
    try {
      parseGatewayConfigText(configFile, content, { env: options.env });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      issues = err.issues;
      return reply.code(422).send(page('Not saved: still not valid (the file is unchanged).', issues));
    }
    try {
      writeFileAtomic(configFile, content, IMPORTED_CONFIG_MODE);
    } catch (err) {
      log.error({ err: (err as Error).message, configFile }, 'setup: cannot write the config');
      return reply.code(500).send(page(`Not saved: cannot write ${configFile}: ${(err as Error).message}.`));
    }
    log.info({ configFile }, 'setup: config saved from the setup page');
    return starting(loaded());
  });

  app.post('/setup/onboard', async (req, reply) => {
    if (!gate.checkCsrf(req, reply, 'form')) return reply;
    void reply.type('text/html; charset=utf-8');
    const values = { id: field(req.body, 'id'), url: field(req.body, 'url') };
    const refuse = (message: string | undefined, problems: ConfigIssue[] = []) =>
      reply.code(400).send(onboardingPage(configFile, gate.formToken(req, reply), values, message, problems));
    if (existsSync(configFile)) return refuse(`${configFile} exists now; reload the page.`);
    if (
      passwords.needsPassword() &&
      !gate.checkSetupCode(req, reply, (reason) =>
        reply.send(onboardingPage(configFile, gate.formToken(req, reply), values, `Not saved: ${reason}.`)),
      )
    )
      return reply;
    const raw = {
      gateway: { id: values.id, stateDir: settings.stateDir },
      cloud: { url: values.url, token: field(req.body, 'token') },
    };
    try {
      parseGatewayConfig(raw, { env: {} });
    } catch (err) {
      if (err instanceof ConfigError) return refuse(undefined, err.issues);
      throw err;
    }
    const password = field(req.body, 'password');
    if (password !== field(req.body, 'confirm')) return refuse('The two passwords differ.');
    if (password.length < MIN_PASSWORD_LENGTH && passwords.needsPassword()) {
      return refuse(`The password needs at least ${MIN_PASSWORD_LENGTH} characters.`);
    }
    try {
      if (passwords.needsPassword()) {
        const set = await passwords.setFirst(password);
        if (!set.ok) return refuse(`Password not set: ${set.reason}.`);
        setupCode?.spend();
      }
      writeFileAtomic(configFile, stringify(raw), IMPORTED_CONFIG_MODE);
    } catch (err) {
      log.error({ err: (err as Error).message, configFile }, 'setup: cannot write the config');
      return reply
        .code(500)
        .send(messagePage('Not saved', `Cannot write ${configFile}: ${(err as Error).message}.`));
    }
    log.info({ configFile, gateway: values.id }, 'setup: config written by the onboarding form');
    return starting(loaded());
  });

  const ready = app
    .listen(settings.listen)
    .then(() => {
      const url = serverUrl(app.server);
      log.warn(
        { url, configFile, problems: issues.length },
        existsSync(configFile)
          ? `setup mode: the config has errors; see them at ${url}`
          : `setup mode: no config yet; set the gateway up at ${url}`,
      );
      return url;
    })
    .catch((err: Error) => {
      log.error({ err: err.message, listen: settings.listen }, 'setup mode: the setup page cannot listen');
      return null;
    });
  return {
    ready,
    configured,
    async stop() {
      await ready;
      await app.close();
    },
  };
}
