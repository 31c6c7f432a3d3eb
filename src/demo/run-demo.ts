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
import { DEMO_LINE_RATE, DEMO_MAX_TUNNELS, DemoPrinters, type JobsOutcome } from './demo-jobs.ts';
import { DemoStory, elapsed, seconds } from './demo-story.ts';

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
  /** Also tell every push, the MQTT traffic and a power-mode schedule (default: the story only). */
  verbose?: boolean;
  /** Send the two print jobs this long after the start (default 10 s; null: no jobs). */
  jobsAfterMs?: number | null;
}

/** A running demo chain: cloud ← firewall ← gateway → simulated MFPs, all on loopback. */
export interface Demo {
  /** The gateway's status page and its generated password (null if it could not listen). */
  readonly statusPage: { url: string; password: string } | null;
  stop(): Promise<void>;
  readonly done: Promise<void>;
}

/**
 * Cloud, simulated idle-dropping firewall, gateway and two simulated MFPs on loopback, in
 * one process, with a push every few seconds: a newcomer sees the cloud learn the
 * firewall's timeout (milestones stamped +mm:ss), every push delivered, a print job through
 * a tunnel and one switched to the printer's own connection, then one summary.
 */
export async function runDemo(options: DemoOptions): Promise<Demo> {
  const clock = options.clock ?? systemClock;
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const verbose = options.verbose ?? false;
  const startedAt = clock.now();
  const story = new DemoStory(startedAt, print);
  const dir = mkdtempSync(join(tmpdir(), 'mfp-gateway-demo-'));
  const gatewayToken = randomBytes(24).toString('hex');
  const apiToken = randomBytes(24).toString('hex');
  const idle = options.firewallIdleMs;
  // One starting interval on both sides (the cloud's advice and the gateway's own default):
  // a quarter of the firewall's timeout, so the push lines live while the cloud learns.
  const startInterval = formatDuration(Math.max(1000, Math.round(idle / 4)));
  const cloud = await startCloudServer(
    parseCloudConfig({
      listen: { host: '127.0.0.1', port: 0 },
      api: { token: apiToken },
      gateways: [{ id: 'demo-office', token: gatewayToken, maxTunnels: DEMO_MAX_TUNNELS }],
      store: { path: join(dir, 'cloud.db') },
      keepalive: { default: startInterval, min: '1s' },
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
    rateBytesPerSec: DEMO_LINE_RATE,
    clock,
    logger: options.logger.child({ side: 'firewall' }),
  });
  const fw = await firewall.start();
  const printers = options.jobsAfterMs === null ? null : new DemoPrinters(join(dir, 'printers'));
  await printers?.start();
  // The status page with a real login (a fresh password, printed), not `auth: none`: the
  // demo shows what an installer sees, and the page listens on loopback only.
  const statusPassword = randomBytes(9).toString('base64url');
  const gateway = await startGateway(
    parseGatewayConfig({
      gateway: { id: 'demo-office', domain: 'a.demo.example.co.jp', stateDir: join(dir, 'gateway') },
      cloud: { url: `ws://${fw.host}:${fw.port}/push`, token: gatewayToken, stagger: '1s' },
      keepalive: { default: startInterval, answerTimeout: '3s' },
      reconnect: { initialDelay: '500ms', maxDelay: '5s' },
      mqtt: {
        url: cloud.mqtt?.broker?.url,
        protocolVersion: 4,
        username: 'demo-office',
        password: gatewayToken,
        telemetry: { every: '30s', minGap: '5s' },
      },
      power: verbose ? demoSchedule(idle) : { mode: 'normal', timezone: 'UTC' },
      devices: printers?.devices() ?? [],
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

  print(
    `mfp-gateway demo: a cloud, a firewall that forgets connections idle for ${seconds(idle)} (${options.onExpiry === 'rst' ? 'and resets them' : 'silently'}), a gateway${printers ? ' and two printers' : ''}, on loopback.`,
  );
  print(`  cloud        ${cloud.url} (the firewall between it and the gateway: ${fw.host}:${fw.port})`);
  if (statusUrl) print(`  status page  ${statusUrl} (log in with password ${statusPassword})`);
  print(
    `  The cloud learns the firewall's timeout in about ${idle * 3 > 90_000 ? `${Math.round((idle * 3) / 60_000)} minutes` : 'a minute'}; Ctrl-C stops the demo and prints a summary.${verbose ? '' : ' --verbose shows every push and the MQTT traffic.'}`,
  );

  const watcher = verbose ? await watchMqtt(cloud.mqtt?.broker?.url ?? '', apiToken, story, clock) : null;

  let delivered = 0;
  let failed = 0;
  let jobs: JobsOutcome | null = null;
  let stopped = false;
  let lastMode = gateway.status().powerMode;
  const timers: TimerHandle[] = [];
  const observe = () => {
    const now = clock.now();
    const status = gateway.status();
    story.observe(now, status);
    if (status.powerMode !== lastMode) {
      lastMode = status.powerMode;
      story.milestone(
        now,
        `power mode ${status.powerMode} (the demo's schedule switches every minute; in "quiet" keep-alives are at least ${seconds(Math.round(idle / 2))} apart)`,
      );
    }
    timers.push(clock.setTimeout(observe, 1000));
  };
  const pushOnce = async () => {
    const result = await cloud.dispatcher.push('demo-office', 'demo', {
      at: new Date(clock.now()).toISOString(),
    });
    if (result.delivered) {
      delivered++;
      if (delivered === 1 || verbose) {
        story.milestone(
          clock.now(),
          `push ${delivered} delivered on ${result.connection} after ${seconds(result.idleBeforeMs)} idle${verbose ? '' : ` (one every ${seconds(options.pushEveryMs)}; counted in the summary)`}`,
        );
      }
    } else {
      failed++;
      story.milestone(clock.now(), `push NOT delivered: ${result.reason}`);
    }
    if (!stopped) timers.push(clock.setTimeout(() => void pushOnce(), options.pushEveryMs));
  };
  timers.push(clock.setTimeout(observe, 1000));
  timers.push(clock.setTimeout(() => void pushOnce(), options.pushEveryMs));
  if (printers) {
    timers.push(
      clock.setTimeout(() => {
        printers
          .run(
            { url: cloud.url, token: apiToken, gatewayId: 'demo-office' },
            clock,
            (text) => story.milestone(clock.now(), text),
            () => stopped,
          )
          .then(
            (outcome) => {
              jobs = outcome;
            },
            (err: Error) => {
              jobs = { lines: [`print jobs: ${err.message}`], allDone: false };
              story.milestone(clock.now(), `print jobs: ${err.message}`);
            },
          );
      }, options.jobsAfterMs ?? 10_000),
    );
  }

  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const stop = async () => {
    if (stopped) return done;
    stopped = true;
    for (const t of timers) clock.clearTimeout(t);
    const now = clock.now();
    await watcher?.endAsync();
    await gateway.stop();
    await printers?.close();
    await firewall.stop();
    await cloud.stop();
    rmSync(dir, { recursive: true, force: true });
    const summary = [
      `summary after ${elapsed(now - startedAt).slice(1)} (mm:ss):`,
      ...story.summary(now),
      `pushes            ${delivered} delivered, ${failed} failed`,
      ...(printers ? (jobs?.lines ?? ['print jobs        not finished']).map((l) => `print ${l}`) : []),
    ];
    for (const line of summary) print(line.startsWith('summary') ? line : `  ${line}`);
    print(`demo stopped; pushes delivered ${delivered}, failed ${failed}`);
    resolveDone();
  };
  if (options.durationMs > 0) timers.push(clock.setTimeout(() => void stop(), options.durationMs));
  return { stop, done, statusPage: statusUrl ? { url: statusUrl, password: statusPassword } : null };
}

/** With --verbose: a lighter mode the schedule switches to every other minute, to show a mode switch. */
function demoSchedule(idle: number) {
  return {
    mode: 'normal',
    timezone: 'UTC',
    modes: {
      normal: { minInterval: '0s', changeThreshold: '0s' },
      quiet: { minInterval: formatDuration(Math.round(idle / 2)), changeThreshold: '0s' },
    },
    schedules: [
      { cron: '*/2 * * * *', mode: 'normal' },
      { cron: '1-59/2 * * * *', mode: 'quiet' },
    ],
  };
}

/** With --verbose: the gateway's MQTT availability and telemetry, as the cloud's client sees them. */
async function watchMqtt(url: string, apiToken: string, story: DemoStory, clock: Clock) {
  const watcher = await mqtt.connectAsync(url, {
    protocolVersion: 4,
    username: CLOUD_MQTT_USER,
    password: apiToken,
  });
  watcher.on('message', (topic, payload) => {
    const text = payload.toString();
    if (topic.endsWith('/telemetry')) {
      const t = JSON.parse(text) as { power?: { mode?: string }; linesUp?: number };
      story.milestone(
        clock.now(),
        `mqtt ${topic}: power mode ${t.power?.mode ?? '?'}, push lines up ${t.linesUp ?? '?'}`,
      );
    } else {
      story.milestone(clock.now(), `mqtt ${topic}: ${text.slice(0, 80)}`);
    }
  });
  await watcher.subscribeAsync(['mfpgw/+/availability', 'mfpgw/+/telemetry']);
  return watcher;
}
