/**
 * Test harness: one real peer (a broker, a database server) run as a child process — its
 * output kept for diagnostics, started once its log says it is ready, stopped with a signal
 * and SIGKILL after a grace period. A peer on a port someone else took meanwhile fails with
 * PortInUseError, and onFreePort starts it again on another port.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { freePort } from './free-port.ts';
import { reapOnExit } from './reap-on-exit.ts';

const STOP_GRACE_MS = 5_000;
const PORT_ATTEMPTS = 3;

/** The port was taken between choosing it and the peer binding it. */
export class PortInUseError extends Error {}

export interface PeerCommand {
  /** The peer's name in errors ("nats-server"). */
  name: string;
  bin: string;
  args: string[];
  /**
   * Extra spawn options: uid/gid to drop to, environment, and detached for a peer that leads a
   * process group of its own (its helpers, its print command), which stop() then signals whole.
   */
  spawn?: Pick<SpawnOptions, 'uid' | 'gid' | 'env' | 'detached'>;
  /** True once the output so far says the peer is ready (it may also try to connect). */
  ready: (output: string) => boolean | Promise<boolean>;
  /** The peer's words for "address already in use". */
  portInUse: RegExp;
  readyDeadlineMs: number;
  /** How often to look at the output while waiting (default 25 ms). */
  pollMs?: number;
}

/** A running (or stopped) peer process. */
export class PeerProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private text = '';
  private group = false;

  /** Everything the peer printed, for diagnostics. */
  get output(): string {
    return this.text;
  }

  /** Spawns the peer and resolves once it is ready; rejects (PortInUseError when it is that) if it exits first. */
  async start(command: PeerCommand): Promise<void> {
    const child = spawn(command.bin, command.args, { stdio: ['ignore', 'pipe', 'pipe'], ...command.spawn });
    this.child = child;
    this.group = command.spawn?.detached === true;
    reapOnExit(child);
    let exitInfo: string | undefined;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        exitInfo = signal ?? `code ${code}`;
        resolve();
      });
      child.once('error', (err) => {
        exitInfo = `spawn error: ${err.message}`;
        resolve();
      });
    });
    const collect = (d: Buffer) => {
      this.text += d.toString();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const deadline = Date.now() + command.readyDeadlineMs;
    for (;;) {
      if (exitInfo !== undefined) {
        if (command.portInUse.test(this.text)) throw new PortInUseError(this.text);
        throw new Error(`${command.name} exited during startup (${exitInfo}):\n${this.text}`);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `${command.name} did not get ready within ${command.readyDeadlineMs} ms:\n${this.text}`,
        );
      }
      if (await command.ready(this.text)) return;
      await new Promise((r) => setTimeout(r, command.pollMs ?? 25));
    }
  }

  /** Stops it with signal, then SIGKILL after a grace period; resolves once it has exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const kill = (name: NodeJS.Signals) => {
      if (!this.group || child.pid === undefined) {
        child.kill(name);
        return;
      }
      try {
        process.kill(-child.pid, name);
      } catch {
        // ESRCH: the whole group has exited meanwhile.
      }
    };
    kill(signal);
    const timer = setTimeout(() => kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * Makes a peer on a free port and starts it; when the port was taken meanwhile, stops it and
 * tries another. Any other failure stops it and is thrown.
 */
export async function onFreePort<T extends { start(): Promise<void>; stop(): Promise<void> }>(
  name: string,
  make: (port: number) => T,
): Promise<T> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const peer = make(await freePort());
    try {
      await peer.start();
      return peer;
    } catch (err) {
      await peer.stop();
      if (!(err instanceof PortInUseError)) throw err;
      lastError = err;
    }
  }
  throw lastError ?? new Error(`${name}: could not start on a free port`);
}

/** A peer onFreePort started: the port it listens on and its process, for its output. */
export interface PeerOnPort {
  readonly port: number;
  readonly process: PeerProcess;
  stop(): Promise<void>;
}

/** Starts command(port) as a PeerProcess through onFreePort: a port taken meanwhile means another try. */
export function peerOnFreePort(name: string, command: (port: number) => PeerCommand): Promise<PeerOnPort> {
  return onFreePort(name, (port) => {
    const peer = new PeerProcess();
    return { port, process: peer, start: () => peer.start(command(port)), stop: () => peer.stop() };
  });
}
