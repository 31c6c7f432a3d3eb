import type { Clock } from '../../clock/clock.ts';
import { adviceInWords } from '../../protocol/advice-words.ts';
import type { Advice } from '../../protocol/messages.ts';
import type { KeepaliveAdvisor } from '../advisor/keepalive-advisor.ts';
import type { GatewayDirectory } from '../push/gateway-directory.ts';
import type { LearningStore } from '../status/learning-store.ts';

export interface GatewayStateSources {
  directory: GatewayDirectory;
  advisor: KeepaliveAdvisor;
  store: LearningStore;
  clock: Clock;
  /** LAN devices behind the gateway's push proxy (docs/push-proxy.md). */
  proxiedDevices?: (gatewayId: string) => unknown[];
}

/** A gateway's live state as the API shows it: its lines, site, and keep-alive learning. */
export function gatewayLiveState(
  sources: GatewayStateSources,
): (id: string) => Promise<Record<string, unknown>> {
  const { directory, advisor, store, clock } = sources;
  return async (id) => {
    const presence = directory.get(id);
    const state = await advisor.stateFor(id);
    const words = adviceInWords(state.advice as Advice);
    const now = clock.now();
    return {
      id,
      connected: directory.lines(id).length > 0 || directory.remoteLines(id).length > 0,
      domain: presence?.domain ?? (await store.gateway(id))?.domain ?? null,
      site: presence?.siteKey ?? null,
      powerMode: presence?.powerMode ?? null,
      load: presence?.load
        ? {
            cpuUsage: presence.load.cpuUsage,
            lineBytesPerSec: presence.load.lineBytesPerSec,
            reportedAt: new Date(presence.load.at).toISOString(),
          }
        : null,
      representative: state.representative,
      connections: directory.lines(id).map((l) => ({
        id: l.connectionId,
        role: l.role,
        state: 'open',
        connectedSince: new Date(l.connectedAt).toISOString(),
        lastTraffic: new Date(l.lastPacketAt).toISOString(),
        idleMs: now - l.lastPacketAt,
        lastHeardFrom: new Date(l.lastReceivedAt).toISOString(),
        keepaliveMs: l.hello.keepaliveMs,
        egressAddress: l.egressAddress,
      })),
      // Lines other nodes of the fleet hold (docs/fleet.md).
      elsewhere: directory.remoteLines(id).map((l) => ({ id: l.connectionId, role: l.role, node: l.node })),
      keepalive: {
        adviceMs: state.advice.intervalMs,
        source: state.advice.source,
        basis: state.advice.basis,
        comesFrom: words.comesFrom,
        warning: words.warning,
        mcvtMs: state.advice.mcvtMs,
        lowerBoundMs: state.advice.lowerBoundMs,
        upperBoundMs: state.advice.upperBoundMs,
        lifetimeCapMs: state.advice.lifetimeCapMs,
        reconnectBeforeAgeMs: state.advice.reconnectBeforeAgeMs,
        converged: state.advice.converged,
        probeGapMs: state.probeGapMs,
      },
      proxiedDevices: sources.proxiedDevices?.(id) ?? [],
    };
  };
}
