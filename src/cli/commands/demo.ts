import { Command, Option } from 'commander';
import { runDemo } from '../../demo/run-demo.ts';
import { createLogger } from '../../log/logger.ts';
import { durationArg, durationOption } from '../arguments.ts';
import { stopOnSignal } from '../lifecycle.ts';

/** `mfp-gateway demo`: cloud + simulated firewall + gateway on loopback. */
export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'run cloud, a simulated idle-dropping firewall, a gateway and two simulated printers on loopback: watch the keep-alive learn (about a minute) and two print jobs, one switched to direct',
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
    .option('--verbose', 'also show every push, the MQTT traffic and a power-mode schedule')
    .option('--no-jobs', 'leave out the print jobs')
    .option('--log-level <level>', 'log level of the parts (info shows every line change)', 'warn')
    .addHelpText('after', '\nExample:\n  mfp-gateway demo --firewall-idle 20s --on-expiry rst')
    .action(
      async (opts: {
        firewallIdle: number;
        onExpiry: 'silent' | 'rst';
        pushEvery: number;
        duration: number;
        logLevel: string;
        verbose?: boolean;
        jobs: boolean;
      }) => {
        const logger = createLogger({ level: opts.logLevel, pretty: true });
        const demo = await runDemo({
          firewallIdleMs: opts.firewallIdle,
          onExpiry: opts.onExpiry,
          pushEveryMs: opts.pushEvery,
          durationMs: opts.duration,
          logger,
          verbose: opts.verbose ?? false,
          jobsAfterMs: opts.jobs ? undefined : null,
        });
        stopOnSignal(() => demo.stop(), logger);
        await demo.done;
      },
    );
}
