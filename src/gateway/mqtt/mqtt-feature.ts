import { join } from 'node:path';
import type { Feature } from '../../lifecycle/feature.ts';
import type { GatewayLoadReport, Push } from '../../protocol/messages.ts';
import type { DeviceMonitor } from '../devices/device-monitor.ts';
import type { GatewayContext } from '../gateway-context.ts';
import type { JobTunnels } from '../jobs/job-tunnels.ts';
import type { PowerMode } from '../keepalive/power-policy.ts';
import type { LineSupervisor } from '../link/line-supervisor.ts';
import type { PowerScheduler } from '../power/power-scheduler.ts';
import type { ConfigReloader } from '../reload/config-reload.ts';
import type { TunnelEndpoint } from '../tunnels/tunnel-endpoint.ts';
import type { MqttSettings } from './broker-options.ts';
import { MqttChannel } from './mqtt-channel.ts';
import { openTunnelCommand } from './open-tunnel-command.ts';

/** The parts of the gateway the MQTT channel reports on and acts on. */
export interface MqttDeps {
  settings: MqttSettings;
  link: LineSupervisor;
  power: PowerScheduler;
  tunnels: TunnelEndpoint;
  jobs: JobTunnels;
  devices: DeviceMonitor;
  /** Absent when the daemon was started without a config file: `reload-config` is not supported. */
  reloader: ConfigReloader | null;
  /** Takes a push that came over MQTT; resolve to acknowledge it. */
  onPush: (push: Push) => Promise<void>;
  /** The gateway's CPU usage and line speed, for telemetry. */
  load: () => GatewayLoadReport;
}

/**
 * The MQTT channel: ships `journal-record`s and power changes, tells telemetry of link, device
 * and power changes, runs management commands, and paces telemetry no faster than the power
 * mode in force allows (a reload's `mqtt.telemetry` applied live).
 */
export class MqttFeature implements Feature {
  readonly name = 'mqtt';
  readonly channel: MqttChannel;

  constructor(ctx: GatewayContext, deps: MqttDeps) {
    const { config, bus } = ctx;
    const { link, power, tunnels, jobs, devices, reloader } = deps;
    const channel = new MqttChannel({
      clock: ctx.clock,
      logger: ctx.logger,
      gatewayId: config.gateway.id,
      software: ctx.software,
      settings: deps.settings,
      env: ctx.env,
      cloudProxy: config.cloud.proxy,
      spoolFile: join(config.gateway.stateDir, 'log-spool.db'),
      backoff: {
        initialMs: config.reconnect.initialDelay,
        maxMs: config.reconnect.maxDelay,
        stableAfterMs: config.reconnect.stableAfter,
      },
      link: () => link.status(),
      power: () => power.state(),
      tunnels: () => ({ active: tunnels.activeCount, jobs: jobs.activeJobs }),
      devices: () => devices.snapshots(),
      load: deps.load,
      actions: {
        ...(reloader ? { reloadConfig: () => reloader.reload() } : {}),
        setPowerOverride: (mode, untilMs) => power.setOverride(mode, untilMs),
        clearPowerOverride: () => power.clearOverride(),
        restoreLines: (ids) => link.restore(ids, 'asked over MQTT'),
        openTunnel: openTunnelCommand(tunnels, link),
      },
      onPush: deps.onPush,
    });
    this.channel = channel;
    // A mode's limit stretches telemetry (never shortens it).
    let telemetry = deps.settings.telemetry;
    const pace = (mode: PowerMode) =>
      channel.setTelemetryPace({
        ...telemetry,
        every: Math.max(telemetry.every, mode.telemetryEveryMs ?? 0),
      });
    bus.on(this.name, 'power-mode', (state) => {
      pace(state.mode);
      channel.append({ kind: 'power', mode: state.mode.name, source: state.decision.source });
      channel.noteChange();
    });
    bus.on(this.name, 'config-reloaded', (next) => {
      telemetry = next.mqtt?.telemetry ?? telemetry;
      pace(power.mode());
    });
    bus.on(this.name, 'link-change', () => channel.noteChange());
    bus.on(this.name, 'device-change', () => channel.noteDevice());
    bus.on(this.name, 'journal-record', (record) => channel.append(record));
  }

  start(): void {
    this.channel.start();
  }

  stop(): Promise<void> {
    return this.channel.stop();
  }
}
