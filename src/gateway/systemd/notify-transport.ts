import { spawn } from 'node:child_process';
import type { Logger } from '../../log/logger.ts';

/** Delivers sd_notify(3) messages ("READY=1", "WATCHDOG=1", "STATUS=…") to the service manager. */
export interface NotifyTransport {
  /** Resolves once the message was handed over (or could not be); never rejects. */
  send(fields: readonly string[]): Promise<void>;
}

/**
 * Sends through systemd-notify(1), run as a child process.
 *
 * Why not in-process: Node cannot open an AF_UNIX datagram socket, and the npm packages
 * that can are native addons — sd-notify and unix-dgram ship no prebuilt binaries (they
 * would need a compiler and libsystemd headers on the board, or a cross-compile per bundle
 * arch), and node-unix-socket's prebuilds come as per-platform optional packages that npm
 * installs only for the build host's arch, so an arm64 bundle built on x64 would lack them.
 * systemd-notify ships with systemd itself on every target, and since systemd 246 it waits
 * (sd_notify_barrier) until the manager has read the message before exiting, so messages
 * from this short-lived child are attributed to the unit under NotifyAccess=all without the
 * old exit-before-read race (systemd#2739). The cost is one short process per watchdog ping
 * (every WatchdogSec/2, 15 s on the appliance) and per status change.
 */
export function systemdNotifyTransport(
  socket: string,
  logger: Logger,
  command = 'systemd-notify',
): NotifyTransport {
  let missing = false;
  return {
    send(fields) {
      if (missing) return Promise.resolve();
      return new Promise((resolve) => {
        const child = spawn(command, [...fields], {
          env: { ...process.env, NOTIFY_SOCKET: socket },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
        });
        child.on('error', (err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') {
            missing = true;
            logger.error(
              { command },
              'systemd-notify not found: systemd cannot see this service as ready or alive (install the systemd package)',
            );
          } else logger.warn({ command, err: err.message }, 'could not run systemd-notify');
          resolve();
        });
        child.on('close', (code) => {
          if (code !== 0 && code !== null)
            logger.warn({ fields, code, stderr: stderr.trim() }, 'systemd-notify failed');
          resolve();
        });
      });
    },
  };
}
