import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createLogger, type Logger } from '../../log/logger.ts';
import { formatHostPort, type HostPort } from '../../sim/firewall/address.ts';
import { startPushMode } from '../../sim/mfp/push-mode.ts';
import { type DirectTransfer, SimMfp } from '../../sim/mfp/sim-mfp.ts';
import { SimSnmpAgent } from '../../sim/mfp/snmp-agent.ts';
import { byteRateArg, hostPortArg } from '../arguments.ts';
import { stopOnSignal } from '../lifecycle.ts';

interface SimMfpFlags {
  spool: string;
  listen: HostPort;
  directCapable?: boolean;
  syslog?: HostPort;
  snmp?: HostPort;
  pages?: number;
  readRate?: number;
  serial?: string;
  pushViaGateway?: string;
  deviceId?: string;
  deviceToken?: string;
  sleepFile?: string;
}

const DEFAULT_LISTEN = '127.0.0.1:9100';

function pageCountArg(text: string): number {
  if (!/^\d{1,12}$/.test(text.trim())) {
    throw new InvalidArgumentError(`"${text}" is not a page count; give a whole number, e.g. 1200`);
  }
  return Number(text.trim());
}

/** `mfp-gateway sim mfp`: a simulated office MFP that prints PJL jobs into a spool directory. */
export function simMfpCommand(): Command {
  return new Command('mfp')
    .description('run a simulated office MFP: PJL on raw TCP (9100 style), jobs stored in a spool directory')
    .requiredOption('--spool <dir>', 'where received documents are stored, one file per job')
    .addOption(
      new Option('--listen <host:port>', 'where PJL clients connect (port 0 picks a free port)')
        .argParser(hostPortArg)
        .default(hostPortArg(DEFAULT_LISTEN), DEFAULT_LISTEN),
    )
    .option(
      '--direct-capable',
      'take jobs over when the gateway hands them on (@PJL MFPGW CONNECT) and fetch the rest from the cloud',
    )
    .option(
      '--syslog <host:port>',
      'send the connection log of direct transfers here (RFC 5424, UDP)',
      hostPortArg,
    )
    .option(
      '--snmp <host:port>',
      'also answer SNMP v2c, community "public", here (port 0 picks one)',
      hostPortArg,
    )
    .option('--pages <n>', 'starting page counter', pageCountArg)
    .option('--serial <path>', 'also speak PJL on this serial port (e.g. one end of a socat pty pair)')
    .option(
      '--read-rate <bytes/s>',
      'read jobs at most this fast, like a slow printer (e.g. 500k, 2m)',
      byteRateArg,
    )
    .option(
      '--push-via-gateway <url>',
      "keep a push connection through the gateway's push proxy (ws://HOST:PORT)",
    )
    .option('--device-id <id>', 'with --push-via-gateway: the device id the gateway knows')
    .option('--device-token <token>', 'with --push-via-gateway: the device token (env MFPGW_DEVICE_TOKEN)')
    .option('--sleep-file <path>', 'with --push-via-gateway: sleep (disconnect) while this file exists')
    .addHelpText(
      'after',
      `
Push via gateway: one "push received" line per push (pushId, dataType, payload,
heldSince), "keep-alive acknowledged" per LAN keep-alive, "push client asleep" / "push
client waking" when the sleep file appears / goes.

Faults on demand: SIGUSR1 takes the paper out (the printer stops with media-empty and
holds jobs), SIGUSR2 clears every fault.

Prints one JSON line "sim mfp listening" when ready, one "job stored" line per stored job
(job, bytes, pages, sha256, path), one when a direct connection is up (or cannot be made), and
one per direct transfer as it starts and settles.

Example:
  # a direct-capable MFP on 9100 that logs to the gateway's syslog intake on 5514
  mfp-gateway sim mfp --spool /tmp/spool --direct-capable --syslog 127.0.0.1:5514 --snmp 127.0.0.1:0`,
    )
    .action(async (flags: SimMfpFlags) => {
      const logger = createLogger();
      const { listen } = flags;
      const spool = resolve(flags.spool);
      const sim = new SimMfp({
        spoolDir: spool,
        pageCount: flags.pages,
        directCapable: flags.directCapable ?? false,
        syslog: flags.syslog,
      });
      if (flags.readRate) sim.setSlowConsumer(flags.readRate);
      // One line when a job's first document bytes arrive (tests wait for "mid-job" on it).
      let storedBytes = 0;
      let receiving = false;
      sim.onChange(() => {
        if (!receiving && sim.documentBytesReceived > storedBytes) {
          receiving = true;
          logger.info({ bytes: sim.documentBytesReceived - storedBytes }, 'job receiving');
        }
      });
      sim.onJobStored((job) => {
        storedBytes += job.bytes;
        receiving = false;
      });
      sim.onJobStored((job) =>
        logger.info(
          { job: job.name, bytes: job.bytes, pages: job.pages, sha256: job.sha256, path: job.path },
          'job stored',
        ),
      );
      sim.onDirectTransfer((transfer) => logDirect(logger, transfer));
      let pjlPort: number;
      try {
        pjlPort = await sim.listenPjl(listen.port, listen.host);
      } catch (err) {
        process.stderr.write(
          `cannot listen on ${formatHostPort(listen)}: ${(err as Error).message}; choose another --listen address\n`,
        );
        process.exit(1);
      }
      const snmp = flags.snmp && (await startSnmp(sim, flags.snmp));
      const stopPush = flags.pushViaGateway ? startPushModeOrExit(flags, logger) : undefined;
      if (flags.serial) await sim.serveSerial(flags.serial);
      process.on('SIGUSR1', () => {
        sim.setFault('paper-out');
        logger.info({ fault: 'paper-out' }, 'fault on');
      });
      process.on('SIGUSR2', () => {
        sim.setFault(undefined);
        logger.info('faults cleared');
      });
      logger.info(
        {
          pjl: formatHostPort({ host: listen.host, port: pjlPort }),
          pjlPort,
          snmpPort: snmp ? snmp.port : null,
          spool,
          directCapable: flags.directCapable ?? false,
          serial: flags.serial ?? null,
          syslog: flags.syslog ? formatHostPort(flags.syslog) : null,
        },
        'sim mfp listening',
      );
      stopOnSignal(async () => {
        stopPush?.();
        await snmp?.close();
        await sim.close();
        logger.info({ jobs: sim.jobs.length, pages: sim.pageCounter }, 'sim mfp stopped');
      }, logger);
    });
}

/** Starts --push-via-gateway, or exits with what is missing. */
function startPushModeOrExit(flags: SimMfpFlags, logger: Logger): () => void {
  const token = flags.deviceToken ?? process.env.MFPGW_DEVICE_TOKEN;
  if (!flags.pushViaGateway || !flags.deviceId || !token) {
    process.stderr.write('--push-via-gateway needs --device-id and --device-token (or MFPGW_DEVICE_TOKEN)\n');
    process.exit(1);
  }
  return startPushMode({
    url: flags.pushViaGateway,
    deviceId: flags.deviceId,
    token,
    sleepFile: flags.sleepFile ? resolve(flags.sleepFile) : undefined,
    logger,
    software: 'mfp-gateway-sim-mfp',
  });
}

/** Answers SNMP for the sim at address, or exits with a message saying what to change. */
async function startSnmp(sim: SimMfp, address: HostPort): Promise<SimSnmpAgent> {
  // Port 0 means "any": the agent then finds a free one itself and reports it.
  const agent = new SimSnmpAgent(sim, { host: address.host, port: address.port || undefined });
  try {
    await agent.listen();
  } catch (err) {
    process.stderr.write(
      `cannot answer SNMP on ${formatHostPort(address)}: ${(err as Error).message}; choose another --snmp address\n`,
    );
    process.exit(1);
  }
  return agent;
}

function logDirect(logger: Logger, t: DirectTransfer): void {
  const fields = {
    job: t.name,
    offset: t.offset,
    bytes: t.bytes,
    url: t.url,
    mode: t.mode,
    attempts: t.attempts,
  };
  switch (t.outcome) {
    case 'connected':
      logger.info(fields, 'direct connection up');
      break;
    case 'connect-failed':
      logger.warn({ ...fields, error: t.error }, 'direct connection failed; the job stays on the tunnel');
      break;
    case 'continuing':
      logger.info(fields, 'direct transfer started');
      break;
    case 'complete':
      logger.info(
        { ...fields, sha256: t.sha256, pages: t.pages, reported: t.reported },
        'direct transfer complete',
      );
      break;
    case 'failed':
      logger.warn({ ...fields, error: t.error, reported: t.reported }, 'direct transfer failed');
      break;
  }
}
