import { Command, Option } from 'commander';
import { runDemo } from '../../demo/run-demo.ts';
import { createLogger } from '../../log/logger.ts';
import { durationArg, durationOption } from '../arguments.ts';
import { stopOnSignal } from '../lifecycle.ts';

/** `mfp-gateway demo`: cloud + simulated firewall + gateway on loopback. */
export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'run cloud, a simulated idle-dropping firewall and a gateway on loopback, and watch the keep-alive learn',
    )
    .addOption(durationOption('--firewall-idle <duration>', 'idle timeout of the simulated firewall', 20_000))
    .addOption(
      new Option('--on-expiry <mode>', 'what the firewall does to expired connections')
        .choices(['silent', 'rst'])
        .default('silent'),
    )
    .addOption(durationOption('--push-every <duration>', 'how often the cloud pushes to the gateway', 15_000))
    .addOption(
      new Option('--duration <duration>', 'stop by itself after this long')
        .argParser(durationArg)
        .default(0, 'run until Ctrl-C'),
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
