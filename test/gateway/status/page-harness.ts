import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Clock } from '../../../src/clock/clock.ts';
import { parseGatewayConfig } from '../../../src/config/gateway-config.ts';
import type { LinkStatus } from '../../../src/gateway/link/line-supervisor.ts';
import type { LineStatus } from '../../../src/gateway/link/push-line.ts';
import { powerModesFrom, schedulePolicyFrom } from '../../../src/gateway/power/power-config.ts';
import { PowerScheduler, type PowerState } from '../../../src/gateway/power/power-scheduler.ts';
import { NO_PROVIDERS, type StatusProviders } from '../../../src/gateway/status/status-model.ts';
import { type StatusPage, startStatusPage } from '../../../src/gateway/status/status-page.ts';
import type { Logger } from '../../../src/log/logger.ts';
import { scratchDir } from '../../support/chain.ts';

/** A link whose state the test sets; emits 'change' like the real supervisor. */
export class FakeLink extends EventEmitter<{ change: [] }> {
  current: LinkStatus = { lines: [], linesUp: 0, advice: null, representative: false, probing: false };

  status(): LinkStatus {
    return this.current;
  }

  set(next: Partial<LinkStatus>): void {
    this.current = { ...this.current, ...next };
    this.current.linesUp = this.current.lines.filter((l) => l.role === 'push' && l.state === 'open').length;
    this.emit('change');
  }
}

/** A line in the given state with plausible numbers. */
export function line(id: string, state: LineStatus['state'], extra: Partial<LineStatus> = {}): LineStatus {
  return {
    id,
    role: id === 'probe' ? 'probe' : 'push',
    state,
    connectedSince: state === 'open' ? 1_000 : null,
    lastTrafficAt: 2_000,
    reconnects: 0,
    keepaliveMs: id === 'probe' ? null : 19_000,
    limitedByPolicy: false,
    lastError: null,
    ...extra,
  };
}

export const POWER: PowerState = {
  mode: { name: 'normal', minIntervalMs: 0, changeThresholdMs: 0 },
  decision: { mode: 'normal', source: 'base', firedAt: null, schedule: null, overrideUntilMs: null },
  next: null,
  timeZone: 'UTC',
};

/** A logger whose JSON lines the test can read. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const text of String(chunk).split('\n'))
        if (text) lines.push(JSON.parse(text) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

export interface TestPage {
  url: string;
  page: StatusPage;
  link: FakeLink;
  stateDir: string;
  logs: Array<Record<string, unknown>>;
  pushes: { websocket: number; mqtt: number };
  /** The power scheduler behind the page's override (with `powerOverride`). */
  power: PowerScheduler | null;
}

/**
 * Starts the status page on loopback with a fake link and the given `status` settings; the
 * devices, tunnels and jobs from `parts.providers`; with `parts.powerOverride` a real
 * power scheduler (modes normal and power-saving, no schedules) the page may override.
 */
export async function startTestPage(
  clock: Clock,
  status: Record<string, unknown>,
  defer: (fn: () => unknown) => void,
  parts: { providers?: StatusProviders; powerOverride?: boolean; settings?: unknown } = {},
): Promise<TestPage> {
  const { dir, cleanup } = scratchDir('status-page');
  defer(cleanup);
  const config = parseGatewayConfig({
    gateway: { id: 'gw1', stateDir: dir },
    cloud: { url: 'ws://127.0.0.1:1/push', token: 't'.repeat(20) },
    status: { listen: { host: '127.0.0.1', port: 0 }, ...status },
  });
  const link = new FakeLink();
  const { logger, lines } = capturingLogger();
  const pushes = { websocket: 0, mqtt: 0 };
  const power = parts.powerOverride
    ? new PowerScheduler({
        clock,
        logger,
        policy: schedulePolicyFrom(config.power),
        modes: powerModesFrom(config.power),
      })
    : null;
  const page = startStatusPage({
    clock,
    logger,
    settings: config.status,
    link,
    powerModes: ['normal', 'power-saving'],
    ...(power ? { power } : {}),
    sources: {
      gatewayId: 'gw1',
      clientId: '00000000-0000-4000-8000-000000000001',
      version: '0.0.0-test',
      startedAt: clock.now(),
      cloud: 'ws://127.0.0.1:1',
      stateDir: dir,
      power: () => power?.state() ?? POWER,
      mqtt: () => null,
      pushesReceived: () => ({ ...pushes }),
      settings: parts.settings ?? {},
      providers: parts.providers ?? NO_PROVIDERS,
    },
  });
  defer(() => page.stop());
  const url = await page.ready;
  if (!url) throw new Error('the status page did not listen');
  return { url: url.replace(/\/$/, ''), page, link, stateDir: dir, logs: lines, pushes, power };
}

/** A browser-like HTTP client: keeps cookies, does not follow redirects. */
export class Browser {
  readonly cookies = new Map<string, string>();
  readonly base: string;

  constructor(base: string) {
    this.base = base;
  }

  async request(
    path: string,
    init: {
      method?: string;
      form?: Record<string, string>;
      json?: unknown;
      headers?: Record<string, string>;
    } = {},
  ) {
    const headers: Record<string, string> = { ...init.headers };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    if (init.json !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.base}${path}`, {
      method: init.method ?? (init.form || init.json !== undefined ? 'POST' : 'GET'),
      headers,
      body: init.form
        ? new URLSearchParams(init.form).toString()
        : init.json !== undefined
          ? JSON.stringify(init.json)
          : undefined,
      redirect: 'manual',
    });
    for (const set of res.headers.getSetCookie()) {
      const [pair] = set.split(';');
      const [name, value = ''] = (pair ?? '').split('=');
      if (!name) continue;
      if (/Max-Age=0\b/.test(set)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return {
      status: res.status,
      headers: res.headers,
      text: await res.text(),
      setCookies: res.headers.getSetCookie(),
    };
  }

  /** Opens a form page and returns the CSRF token of its hidden field. */
  async formToken(path: string): Promise<string> {
    const res = await this.request(path);
    const m = /name="_csrf" value="([^"]+)"/.exec(res.text);
    if (!m?.[1])
      throw new Error(`no CSRF field on ${path} (status ${res.status}): ${res.text.slice(0, 200)}`);
    return m[1];
  }

  /** Logs in through the form; returns the response to the POST. */
  async login(password: string) {
    const _csrf = await this.formToken('/login');
    return this.request('/login', { form: { _csrf, password } });
  }
}
