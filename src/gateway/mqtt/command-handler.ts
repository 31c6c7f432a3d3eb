import type { Clock } from '../../clock/clock.ts';
import {
  type Command,
  type CommandErrorCode,
  type CommandReply,
  decodeCommand,
} from '../../protocol/mqtt/commands.ts';
import type { PowerState } from '../power/power-scheduler.ts';
import type { ReloadOutcome } from '../reload/config-reload.ts';

/** What the management commands act on; an absent action replies "not supported yet". */
export interface CommandActions {
  /** Reopens push lines now; returns the ids restored. */
  restoreLines?: (connectionIds: string[] | undefined) => string[];
  /** Re-reads the config file (absent when the daemon was started without one). */
  reloadConfig?: () => ReloadOutcome;
  statusSnapshot: () => unknown;
  setPowerOverride: (
    mode: string,
    untilMs: number,
  ) => { ok: true; state: PowerState } | { ok: false; code: string; message: string };
  clearPowerOverride: () => PowerState;
  openTunnel?: (command: Extract<Command, { name: 'open-tunnel' }>['body']) => Promise<unknown>;
}

/** How long a command id is remembered to ignore duplicates, ms. */
export const DUPLICATE_WINDOW_MS = 10 * 60_000;
/** Most command ids remembered (the window is also bounded in count). */
export const DUPLICATE_CAPACITY = 1024;

const notSupported = (id: string, what: string): CommandReply => ({
  id,
  ok: false,
  code: 'MFP_ERR_NOT_SUPPORTED' satisfies CommandErrorCode,
  message: `${what} is not supported yet by this gateway`,
});

/**
 * Decodes and runs management commands: every command gets exactly one reply, a duplicate
 * (same id within the window) gets none, and an unknown or malformed one gets an error reply.
 */
export class CommandHandler {
  private readonly clock: Clock;
  private readonly actions: CommandActions;
  /** id → when first seen; insertion order = age order. */
  private readonly seen = new Map<string, number>();

  constructor(clock: Clock, actions: CommandActions) {
    this.clock = clock;
    this.actions = actions;
  }

  /** Handles one command body received under a name; null means a duplicate (no reply). */
  async handle(name: string, body: Uint8Array): Promise<CommandReply | null> {
    const decoded = decodeCommand(name, body);
    if (!decoded.ok) {
      const { id, code, message } = decoded.error;
      if (id !== null && !this.firstTime(id)) return null;
      return { id, ok: false, code, message };
    }
    const { command } = decoded;
    if (!this.firstTime(command.body.id)) return null;
    try {
      return await this.run(command);
    } catch (err) {
      return {
        id: command.body.id,
        ok: false,
        code: 'MFP_ERR_COMMAND_FAILED',
        message: (err as Error).message,
      };
    }
  }

  private async run(command: Command): Promise<CommandReply> {
    const { id } = command.body;
    const a = this.actions;
    switch (command.name) {
      case 'restore-line':
        if (!a.restoreLines) return notSupported(id, 'restore-line');
        return { id, ok: true, result: { restored: a.restoreLines(command.body.connectionIds) } };
      case 'reload-config': {
        if (!a.reloadConfig)
          return notSupported(id, 'reload-config without a config file (restart the service instead)');
        const outcome = a.reloadConfig();
        if (!outcome.ok) {
          const { code, message, issues } = outcome;
          return { id, ok: false, code, message, issues };
        }
        const { file, applied, needsRestart } = outcome;
        return { id, ok: true, result: { file, applied, needsRestart } };
      }
      case 'status-snapshot':
        return { id, ok: true, result: a.statusSnapshot() };
      case 'set-power-override': {
        const body = command.body;
        if (body.mode === null) return { id, ok: true, result: powerResult(a.clearPowerOverride()) };
        const untilMs = 'until' in body ? Date.parse(body.until) : this.clock.now() + body.forMs;
        const outcome = a.setPowerOverride(body.mode, untilMs);
        if (!outcome.ok) return { id, ok: false, code: outcome.code, message: outcome.message };
        return { id, ok: true, result: powerResult(outcome.state) };
      }
      case 'open-tunnel':
        if (!a.openTunnel) return notSupported(id, 'open-tunnel');
        return { id, ok: true, result: await a.openTunnel(command.body) };
    }
  }

  /** Remembers an id; false when it was seen within the window. */
  private firstTime(id: string): boolean {
    const now = this.clock.now();
    for (const [old, at] of this.seen) {
      if (now - at < DUPLICATE_WINDOW_MS && this.seen.size <= DUPLICATE_CAPACITY) break;
      this.seen.delete(old);
    }
    if (this.seen.has(id)) return false;
    this.seen.set(id, now);
    return true;
  }
}

/** The power state as a JSON-friendly reply. */
export function powerResult(state: PowerState): Record<string, unknown> {
  return {
    mode: state.mode.name,
    source: state.decision.source,
    overrideUntil:
      state.decision.overrideUntilMs === null ? null : new Date(state.decision.overrideUntilMs).toISOString(),
    next: state.next ? { at: new Date(state.next.at).toISOString(), mode: state.next.mode } : null,
    timeZone: state.timeZone,
  };
}
