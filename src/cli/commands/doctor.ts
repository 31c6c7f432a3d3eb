import { Command } from 'commander';
import { systemClock } from '../../clock/system-clock.ts';
import { doctorExitStatus } from '../../doctor/check-result.ts';
import { formatReport } from '../../doctor/report.ts';
import { runDoctor } from '../../doctor/run-doctor.ts';
import { DEFAULT_CONFIG, durationOption } from '../arguments.ts';

/** `mfp-gateway doctor --config FILE`: checks a gateway's setup, one line per check with a fix. */
export function doctorCommand(): Command {
  return new Command('doctor')
    .description(
      'check a gateway’s setup: config, DNS, proxy and its credentials, TLS, clock, the cloud’s verdict on the token, ' +
        'each device, the status page’s port; one line per check with what to do',
    )
    .option('-c, --config <file>', 'gateway config file (YAML)', process.env.MFPGW_CONFIG ?? DEFAULT_CONFIG)
    .option('--json', 'print the checks as JSON: [{check, status, message, fix?, details?}]')
    .addOption(durationOption('--timeout <duration>', 'longest wait for any one answer', 5000))
    .addHelpText(
      'after',
      `
Exit status: 0 every check passed, 1 warnings only, 2 something failed.
It reads the config as \`run\` does (environment overrides included): on the appliance run it
as root or the service user, with the service's environment file, e.g.
  sudo sh -c 'set -a; . /etc/mfp-gateway/environment 2>/dev/null; mfp-gateway doctor'

Example:
  mfp-gateway doctor --config /etc/mfp-gateway/gateway.yaml`,
    )
    .action(async (opts: { config: string; json?: boolean; timeout: number }) => {
      const results = await runDoctor({
        configFile: opts.config,
        clock: systemClock,
        timeoutMs: opts.timeout,
      });
      process.stdout.write(opts.json ? `${JSON.stringify(results, null, 2)}\n` : formatReport(results));
      process.exitCode = doctorExitStatus(results);
    });
}
