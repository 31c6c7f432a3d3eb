import { SLOW_START } from '../../config/keepalive-defaults.ts';
import type { Feature } from '../../lifecycle/feature.ts';
import type { DeviceReport, GatewayLoadReport, Push } from '../../protocol/messages.ts';
import { type ClockJump, ClockWatch } from '../clock-watch/clock-watch.ts';
import type { GatewayContext } from '../gateway-context.ts';
import { cpuLoad, hostDomain, systemUptimeMs } from '../host/host-info.ts';
import type { PowerMode } from '../keepalive/power-policy.ts';
import type { CloudAccess } from './cloud-access.ts';
import { LineSupervisor, type LinkHandlers } from './line-supervisor.ts';

/** What the push lines need from the rest of the gateway. */
export interface LinkDeps {
  access: CloudAccess;
  power: { mode(): PowerMode };
  /** Takes a push that came over a line; resolve to acknowledge it. */
  onPush: (push: Push) => Promise<void>;
  /** Decides on each tunnel the cloud opens on a line. */
  onTunnel: LinkHandlers['onTunnel'];
  /** Devices reported to the cloud's registry in every hello. */
  devices: () => DeviceReport[];
  /** LAN devices whose push connections this gateway proxies (none: not reported). */
  proxiedDevices?: () => string[];
  /** The gateway's load now, for keep-alives. */
  load: () => GatewayLoadReport;
  /** Whether jobs run now: only then do `load-sample`s go to the cloud between keep-alives. */
  jobsRunning: () => boolean;
}

/**
 * The gateway's push lines to the cloud, through the site's proxy: emits `link-change`, gives
 * the lines' keep-alives the power mode in force, and while jobs run passes each `load-sample`
 * to the cloud on the lines that carry tunnels (its tunnel scheduler needs it fresh). Its clock
 * watch reconnects every line at once when the gateway comes back from a suspend or a freeze,
 * and keeps the lines lost meanwhile from counting as evidence.
 */
export class LinkFeature implements Feature {
  readonly name = 'link';
  readonly supervisor: LineSupervisor;
  readonly clockWatch: ClockWatch;
  /** The domain told to the cloud (its identical-domain evidence). */
  readonly domain: string;

  constructor(ctx: GatewayContext, deps: LinkDeps) {
    const { config, bus } = ctx;
    const domain = config.gateway.domain ?? hostDomain();
    this.domain = domain;
    const log = ctx.logger.child({ part: 'link' });
    const { clock } = ctx;
    this.clockWatch = new ClockWatch({
      clock,
      ...(clock.sinceBoot ? { sinceBoot: () => clock.sinceBoot?.() ?? 0 } : {}),
      onJump: (jump) => this.jumped(jump, log),
    });
    this.supervisor = new LineSupervisor({
      clock: ctx.clock,
      logger: ctx.logger,
      identity: {
        gatewayId: config.gateway.id,
        clientId: ctx.clientId,
        token: config.cloud.token,
        software: ctx.software,
      },
      transport: {
        url: config.cloud.url,
        agent: deps.access.agentFor(new URL(config.cloud.url)),
        ca: deps.access.ca,
      },
      lines: {
        connections: config.cloud.connections,
        staggerMs: config.cloud.stagger,
        probeAllowed: config.cloud.probe,
        keepaliveDefaultMs: config.keepalive.default,
        answerTimeoutMs: config.keepalive.answerTimeout,
        slowStart: SLOW_START,
        backoff: {
          initialMs: config.reconnect.initialDelay,
          maxMs: config.reconnect.maxDelay,
          stableAfterMs: config.reconnect.stableAfter,
          authFailureDelayMs: config.reconnect.authFailureDelay,
        },
      },
      hello: {
        host: () => ({ domain, uptimeMs: systemUptimeMs(), cpuLoad: cpuLoad() }),
        mode: () => deps.power.mode(),
        load: deps.load,
        devices: deps.devices,
        maxTunnels: config.tunnels.maxConcurrent,
        proxiedDevices: deps.proxiedDevices,
      },
      handlers: { onPush: deps.onPush, onTunnel: deps.onTunnel },
      tunnelMemoryCap: config.tunnels.memoryCap,
      awaySince: (t) => this.clockWatch.awaySince(t),
    });
    this.supervisor.on('change', () => bus.emit('link-change'));
    bus.on(this.name, 'power-mode', (state) => this.supervisor.setMode(state.mode));
    bus.on(this.name, 'load-sample', (report) => {
      if (deps.jobsRunning()) this.supervisor.reportLoad(report);
    });
  }

  start(): void {
    this.clockWatch.start();
    this.supervisor.start();
  }

  stop(): void {
    this.clockWatch.stop();
    this.supervisor.stop();
  }

  private jumped(jump: ClockJump, log: GatewayContext['logger']): void {
    if (jump.kind === 'clock-step') {
      log.info({ stepMs: Math.round(jump.ms) }, 'the wall clock was set; keep-alive timing is unaffected');
      return;
    }
    const lines = this.supervisor.restore(undefined, `the gateway was away (${jump.kind})`);
    log.warn(
      { kind: jump.kind, awayMs: Math.round(jump.ms), lines },
      'the gateway was away: reconnecting its lines now (their losses are no evidence)',
    );
  }
}
