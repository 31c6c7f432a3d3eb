import type { LinkStatus } from '../link/line-supervisor.ts';
import type { TunnelEndpoint } from '../tunnels/tunnel-endpoint.ts';
import type { CommandActions } from './command-handler.ts';

type OpenTunnel = NonNullable<CommandActions['openTunnel']>;

/**
 * Seed 001's tunnel-establishment command, as it comes over MQTT: checks the target and names
 * the line the cloud should open the tunnel on (the data then rides that line). With no push
 * line up it restores the lines and asks the cloud to try again.
 */
export function openTunnelCommand(
  tunnels: Pick<TunnelEndpoint, 'check'>,
  link: { status(): LinkStatus; restore(ids: string[] | undefined, reason: string): string[] },
): OpenTunnel {
  return async (command) => {
    const verdict = tunnels.check(command);
    if (!verdict.allowed) throw new Error(`${verdict.code}: ${verdict.reason}`);
    const line = link.status().lines.find((l) => l.role === 'push' && l.state === 'open');
    if (!line) {
      link.restore(undefined, 'a tunnel was requested while no push line was up');
      throw new Error('no push line is up; restoring the lines, try again');
    }
    return { tunnelId: command.tunnelId, line: line.id };
  };
}
