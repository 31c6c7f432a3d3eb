#!/usr/bin/env node
import { Command } from 'commander';
import { versionLine } from '../version.ts';

/**
 * Each command's module is imported only when that command runs (all of them for the
 * top-level help): the gateway daemon then never loads the cloud's HTTP framework and
 * embedded broker, which matters on a 512 MB box.
 */
const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./commands/run.ts')).runCommand(),
  cloud: async () => (await import('./commands/cloud.ts')).cloudCommand(),
  demo: async () => (await import('./commands/demo.ts')).demoCommand(),
  doctor: async () => (await import('./commands/doctor.ts')).doctorCommand(),
  status: async () => (await import('./commands/status.ts')).statusCommand(),
  decrypt: async () => (await import('./commands/decrypt.ts')).decryptCommand(),
  'hash-password': async () => (await import('./commands/hash-password.ts')).hashPasswordCommand(),
  sim: async () =>
    new Command('sim')
      .description('simulated parts of the world for demos and tests')
      .addCommand((await import('./commands/sim-firewall.ts')).simFirewallCommand())
      .addCommand((await import('./commands/sim-mfp.ts')).simMfpCommand()),
};

const program = new Command('mfp-gateway')
  .description(
    'Gateway appliance for office MFPs behind firewalls and proxies, and the reference cloud it talks to.\n' +
      'Keeps push lines to the cloud alive with a learned keep-alive interval.',
  )
  // Not commander's .version(): the commit is looked up only when asked for.
  .option('-V, --version', 'print the version, the commit it was built from and the Node version')
  .on('option:version', () => {
    process.stdout.write(`${versionLine()}\n`);
    process.exit(0);
  })
  .showHelpAfterError('(run with --help for usage)');

const asked = process.argv[2];
// The version alone needs no command's module (0.06 s instead of 0.3 s on x64, seconds on a Pi).
if (asked === '-V' || asked === '--version') await program.parseAsync(process.argv);
const load = asked !== undefined ? commands[asked] : undefined;
for (const make of load ? [load] : Object.values(commands)) program.addCommand(await make());

await program.parseAsync(process.argv);
