#!/usr/bin/env node
import { Command } from 'commander';
import { VERSION } from '../version.ts';
import { cloudCommand } from './commands/cloud.ts';
import { decryptCommand } from './commands/decrypt.ts';
import { demoCommand } from './commands/demo.ts';
import { runCommand } from './commands/run.ts';
import { simFirewallCommand } from './commands/sim-firewall.ts';
import { simMfpCommand } from './commands/sim-mfp.ts';

const program = new Command('mfp-gateway')
  .description(
    'Gateway appliance for office MFPs behind firewalls and proxies, and the reference cloud it talks to.\n' +
      'Keeps push lines to the cloud alive with a learned keep-alive interval.',
  )
  .version(VERSION, '-V, --version')
  .showHelpAfterError('(run with --help for usage)');

program.addCommand(runCommand());
program.addCommand(cloudCommand());
program.addCommand(demoCommand());
program.addCommand(decryptCommand());
program.addCommand(
  new Command('sim')
    .description('simulated parts of the world for demos and tests')
    .addCommand(simFirewallCommand())
    .addCommand(simMfpCommand()),
);

await program.parseAsync(process.argv);
