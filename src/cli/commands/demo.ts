import { Command, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../../config/duration.ts';
import { runDemo } from '../../demo/run-demo.ts';
import { createLogger } from '../../log/logger.ts';
import { stopOnSignal } from '../lifecycle.ts';

function durationArg(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** `mfp-gateway demo`: cloud + simulated firewall + gateway on loopback. */
export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'run cloud, a simulated idle-dropping firewall and a gateway on loopback, and watch the keep-alive learn',
    )
    .option('--firewall-idle <duration>', 'idle timeout of the simulated firewall', durationArg, 20_000)
    .addOption(
      new Option('--on-expiry <mode>', 'what the firewall does to expired connections')
        .choices(['silent', 'rst'])
        .default('silent'),
    )
    .option('--push-every <duration>', 'how often the cloud pushes to the gateway', durationArg, 15_000)
    .option(
      '--duration <duration>',
      'stop by itself after this long (default: run until Ctrl-C)',
      durationArg,
      0,
    )
    .option('--log-level <level>', 'log level of the parts (info shows every line change)', 'warn')
    .addHelpText('after', '\nExample:\n  mfp-gateway demo --firewall-idle 20s --on-expiry rst')
    .action(
      async (opts: {
        firewallIdle: number;
        onExpiry: 'silent' | 'rst';
        pushEvery: number;
        duration: number;
        logLevel: string;
      }) => {
        const logger = createLogger({ level: opts.logLevel, pretty: true });
        const demo = await runDemo({
          firewallIdleMs: opts.firewallIdle,
          onExpiry: opts.onExpiry,
          pushEveryMs: opts.pushEvery,
          durationMs: opts.duration,
          logger,
        });
        stopOnSignal(() => demo.stop(), logger);
        await demo.done;
      },
    );
}
