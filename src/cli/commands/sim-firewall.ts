import { Command, Option } from 'commander';
import { systemClock } from '../../clock/system-clock.ts';
import { createLogger } from '../../log/logger.ts';
import { formatHostPort, type HostPort } from '../../sim/firewall/address.ts';
import { type ExpiryMode, IdleFirewall } from '../../sim/firewall/idle-firewall.ts';
import { byteRateArg, hostPortArg, positiveDurationArg } from '../arguments.ts';
import { stopOnSignal } from '../lifecycle.ts';

interface SimFirewallFlags {
  listen: HostPort;
  target: HostPort;
  idleTimeout: number;
  onExpiry: ExpiryMode;
  lifetime?: number;
  rate?: number;
}

/** `mfp-gateway sim firewall`: a TCP relay that forgets idle connections like a real middlebox. */
export function simFirewallCommand(): Command {
  return new Command('firewall')
    .description('relay TCP through a simulated NAT/firewall that silently forgets idle connections')
    .requiredOption('--listen <host:port>', 'where clients connect (port 0 picks a free port)', hostPortArg)
    .requiredOption('--target <host:port>', 'where every connection is relayed to', hostPortArg)
    .requiredOption(
      '--idle-timeout <duration>',
      'forget a connection after this long with no byte either way, e.g. 90s, 2h4m',
      positiveDurationArg,
    )
    .addOption(
      new Option(
        '--on-expiry <mode>',
        'what a forgotten connection gets: silent = bytes vanish, rst = sender is reset',
      )
        .choices(['silent', 'rst'])
        .default('silent'),
    )
    .option(
      '--lifetime <duration>',
      'also forget a connection this old, whatever its traffic',
      positiveDurationArg,
    )
    .option(
      '--rate <bytes/s>',
      'carry at most this many bytes per second each way, shared by all connections (e.g. 300k): a slow line',
      byteRateArg,
    )
    .addHelpText(
      'after',
      `
A forgotten connection stays open at both ends. With "silent" every later byte and FIN is
swallowed and nobody is told; with "rst" each side is reset when it next sends.

Example:
  # the cloud listens on 8443; gateways dial 9443 and lose lines idle for more than 2 minutes
  mfp-gateway sim firewall --listen 127.0.0.1:9443 --target 127.0.0.1:8443 --idle-timeout 2m --on-expiry rst`,
    )
    .action(async (flags: SimFirewallFlags) => {
      const logger = createLogger();
      const firewall = new IdleFirewall({
        listen: flags.listen,
        target: flags.target,
        idleTimeoutMs: flags.idleTimeout,
        onExpiry: flags.onExpiry,
        lifetimeMs: flags.lifetime,
        rateBytesPerSec: flags.rate,
        clock: systemClock,
        logger,
      });
      try {
        await firewall.start();
      } catch (err) {
        process.stderr.write(
          `cannot listen on ${formatHostPort(flags.listen)}: ${(err as Error).message}; choose another --listen address\n`,
        );
        process.exit(1);
      }
      stopOnSignal(() => firewall.stop(), logger);
    });
}
