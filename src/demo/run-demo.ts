import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { formatDuration } from '../calendar/duration.ts';
import type { Clock, TimerHandle } from '../clock/clock.ts';
import { systemClock } from '../clock/system-clock.ts';
import { startCloudServer } from '../cloud/cloud-server.ts';
import { CLOUD_MQTT_USER } from '../cloud/mqtt/embedded-broker.ts';
import { parseCloudConfig } from '../config/cloud-config.ts';
import { parseGatewayConfig } from '../config/gateway-config.ts';
import { startGateway } from '../gateway/gateway-daemon.ts';
import type { Logger } from '../log/logger.ts';
import { hashPassword } from '../secrets/password-hash.ts';
import { IdleFirewall } from '../sim/firewall/idle-firewall.ts';

export interface DemoOptions {
  firewallIdleMs: number;
  onExpiry: 'silent' | 'rst';
  pushEveryMs: number;
  /** Stop by itself after this long (0: run until Ctrl-C). */
  durationMs: number;
  logger: Logger;
  clock?: Clock;
  /** Where narration lines go. */
  print?: (line: string) => void;
  /** Port of the gateway's status page on loopback (default: any free port; the URL is printed). */
  statusPort?: number;
}

/** A running demo chain: cloud ← firewall ← gateway, all on loopback. */
export interface Demo {
  /** The gateway's status page and its generated password (null if it could not listen). */
  readonly statusPage: { url: string; password: string } | null;
  stop(): Promise<void>;
  readonly done: Promise<void>;
}

/**
 * Cloud, simulated idle-dropping firewall and gateway on loopback, in one process, with a
 * push every few seconds: a newcomer sees the keep-alive advice learn the firewall's
 * timeout within a couple of minutes, and every push delivered.
 */
export async function runDemo(options: DemoOptions): Promise<Demo> {
  const clock = options.clock ?? systemClock;
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'mfp-gateway-demo-'));
  const gatewayToken = randomBytes(24).toString('hex');
  const apiToken = randomBytes(24).toString('hex');
  const idle = options.firewallIdleMs;
  const cloud = await startCloudServer(
    parseCloudConfig({
      listen: { host: '127.0.0.1', port: 0 },
      api: { token: apiToken },
      gateways: [{ id: 'demo-office', token: gatewayToken }],
      store: { path: join(dir, 'cloud.db') },
      keepalive: { default: formatDuration(Math.max(1000, Math.round(idle / 4))), min: '1s' },
      push: { ackTimeout: '2s', deadline: '15s' },
      mqtt: { embedded: true, listen: { host: '127.0.0.1', port: 0 } },
    }),
    { logger: options.logger.child({ side: 'cloud' }), clock },
  );
  const firewall = new IdleFirewall({
    listen: { host: '127.0.0.1', port: 0 },
    target: { host: '127.0.0.1', port: cloud.port },
    idleTimeoutMs: idle,
    onExpiry: options.onExpiry,
    clock,
    logger: options.logger.child({ side: 'firewall' }),
  });
  const fw = await firewall.start();
  print(
    `demo: cloud on ${cloud.url}, firewall on ${fw.host}:${fw.port} forgets connections idle > ${formatDuration(idle)} (${options.onExpiry})`,
  );
  // The status page with a real login (a fresh password, printed), not `auth: none`: the
  // demo shows what an installer sees, and the page listens on loopback only.
  const statusPassword = randomBytes(9).toString('base64url');
  const gateway = await startGateway(
    parseGatewayConfig({
      gateway: { id: 'demo-office', domain: 'a.demo.example.co.jp', stateDir: join(dir, 'gateway') },
      cloud: { url: `ws://${fw.host}:${fw.port}/push`, token: gatewayToken, stagger: '1s' },
      keepalive: { answerTimeout: '3s' },
      reconnect: { initialDelay: '500ms', maxDelay: '5s' },
      mqtt: {
        url: cloud.mqtt?.broker?.url,
        protocolVersion: 4,
        username: 'demo-office',
        password: gatewayToken,
        telemetry: { every: '30s', minGap: '5s' },
      },
      power: {
        mode: 'normal',
        timezone: 'UTC',
        modes: {
          normal: { minInterval: '0s', changeThreshold: '0s' },
          // A lighter mode the schedule switches to every other minute, to show a mode switch.
          quiet: { minInterval: formatDuration(Math.round(idle / 2)), changeThreshold: '0s' },
        },
        schedules: [
          { cron: '*/2 * * * *', mode: 'normal' },
          { cron: '1-59/2 * * * *', mode: 'quiet' },
        ],
      },
      status: {
        listen: { host: '127.0.0.1', port: options.statusPort ?? 0 },
        passwordHash: await hashPassword(statusPassword),
      },
    }),
    {
      logger: options.logger.child({ side: 'gateway' }),
      clock,
      sharedProcess: 'the demo’s cloud and firewall',
    },
  );

  const statusUrl = (await gateway.statusPage?.ready) ?? null;
  if (statusUrl) print(`demo: status page on ${statusUrl} (log in with password ${statusPassword})`);

  const watcher = await mqtt.connectAsync(cloud.mqtt?.broker?.url ?? '', {
    protocolVersion: 4,
    username: CLOUD_MQTT_USER,
    password: apiToken,
  });
  watcher.on('message', (topic, payload) => {
    const text = payload.toString();
    if (topic.endsWith('/telemetry')) {
      const t = JSON.parse(text) as { power?: { mode?: string }; linesUp?: number };
      print(`demo: mqtt ${topic}: power mode ${t.power?.mode ?? '?'}, push lines up ${t.linesUp ?? '?'}`);
    } else {
      print(`demo: mqtt ${topic}: ${text.slice(0, 80)}`);
    }
  });
  await watcher.subscribeAsync(['mfpgw/+/availability', 'mfpgw/+/telemetry']);

  let delivered = 0;
  let failed = 0;
  let lastAdvice = '';
  const timers: TimerHandle[] = [];
  const narrate = () => {
    const s = gateway.status();
    const a = s.advice;
    const text = a
      ? `keep-alive ${formatDuration(a.intervalMs)} (source ${a.source}; learned ${a.lowerBoundMs === null ? '?' : formatDuration(a.lowerBoundMs)} < timeout ≤ ${a.upperBoundMs === null ? '?' : formatDuration(a.upperBoundMs)}${a.converged ? ', converged' : ''})`
      : 'keep-alive: waiting for the cloud';
    const line = `${text}; power mode ${s.powerMode}`;
    if (line !== lastAdvice) {
      lastAdvice = line;
      print(
        `demo: ${line}; lines up ${s.linesUp}${s.probing ? ' + probe line' : ''}; pushes delivered ${delivered}, failed ${failed}`,
      );
    }
    timers.push(clock.setTimeout(narrate, 1000));
  };
  const pushOnce = async () => {
    const result = await cloud.dispatcher.push('demo-office', 'demo', {
      at: new Date(clock.now()).toISOString(),
    });
    if (result.delivered) {
      delivered++;
      print(`demo: push delivered on ${result.connection} after ${formatDuration(result.idleBeforeMs)} idle`);
    } else {
      failed++;
      print(`demo: push NOT delivered: ${result.reason}`);
    }
    timers.push(clock.setTimeout(() => void pushOnce(), options.pushEveryMs));
  };
  timers.push(clock.setTimeout(narrate, 1000));
  timers.push(clock.setTimeout(() => void pushOnce(), options.pushEveryMs));

  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return done;
    stopped = true;
    for (const t of timers) clock.clearTimeout(t);
    await watcher.endAsync();
    await gateway.stop();
    await firewall.stop();
    await cloud.stop();
    rmSync(dir, { recursive: true, force: true });
    print(`demo: stopped; pushes delivered ${delivered}, failed ${failed}`);
    resolveDone();
  };
  if (options.durationMs > 0) timers.push(clock.setTimeout(() => void stop(), options.durationMs));
  return { stop, done, statusPage: statusUrl ? { url: statusUrl, password: statusPassword } : null };
}
