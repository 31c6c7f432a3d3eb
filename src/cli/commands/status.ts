import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { parse } from 'yaml';
import { ControlError, fetchReport } from '../../gateway/control/control-client.ts';
import { CONTROL_SOCKET } from '../../gateway/control/control-server.ts';
import { formatReport } from '../../gateway/control/format-report.ts';
import { DEFAULT_CONFIG, durationOption } from '../arguments.ts';

/** The state directory the daemon's config names (the schema's default when it names none). */
const DEFAULT_STATE_DIR = '/var/lib/mfp-gateway';

/**
 * `gateway.stateDir` read leniently: `status` must work when the config does not validate
 * for this user (an unset ${env:…} token), or is not readable at all.
 */
function stateDirOf(configFile: string): string {
  try {
    const raw = parse(readFileSync(configFile, 'utf8')) as { gateway?: { stateDir?: unknown } } | null;
    const dir = raw?.gateway?.stateDir;
    return typeof dir === 'string' && dir !== '' ? dir : DEFAULT_STATE_DIR;
  } catch {
    return DEFAULT_STATE_DIR;
  }
}

/** `mfp-gateway status`: the running daemon's state, from its control socket. */
export function statusCommand(): Command {
  return new Command('status')
    .description(
      'show what the running gateway is doing: its lines, keep-alive, power mode, devices, tunnels',
    )
    .option(
      '-c, --config <file>',
      'the daemon’s config (only its gateway.stateDir is read)',
      process.env.MFPGW_CONFIG ?? DEFAULT_CONFIG,
    )
    .option('--state-dir <dir>', 'the daemon’s state directory (default: gateway.stateDir of --config)')
    .option('--json', 'print the daemon’s report as JSON')
    .addOption(durationOption('--timeout <duration>', 'longest wait for the daemon’s answer', 5000))
    .addHelpText(
      'after',
      `
It asks the daemon on its control socket, <stateDir>/${CONTROL_SOCKET}, which only root and
the service's user and group may open (on the appliance: sudo mfp-gateway status).
Exit status: 0 at least one push line is up, 1 no gateway answers, 2 it runs but no push line is up.`,
    )
    .action(async (opts: { config: string; stateDir?: string; json?: boolean; timeout: number }) => {
      const socket = join(opts.stateDir ?? stateDirOf(opts.config), CONTROL_SOCKET);
      try {
        const report = await fetchReport(socket, opts.timeout);
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
        process.exitCode = report.link.linesUp > 0 ? 0 : 2;
      } catch (err) {
        if (!(err instanceof ControlError)) throw err;
        const why =
          err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
            ? `no gateway is running with state directory ${join(socket, '..')} (${err.code} on ${socket}): start it with systemctl start mfp-gateway, or give --config / --state-dir`
            : err.code === 'EACCES'
              ? `${socket}: permission denied; run as root (sudo) or as a member of the service's group`
              : err.message;
        process.stderr.write(`mfp-gateway status: ${why}\n`);
        process.exitCode = 1;
      }
    });
}
