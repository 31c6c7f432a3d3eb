import { readFileSync } from 'node:fs';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import { writeFileAtomic } from '../../storage/atomic-file.ts';
import type { PowerMode } from '../keepalive/power-policy.ts';
import {
  type ModeDecision,
  type ModeOverride,
  modeAt,
  nextChange,
  nextEvent,
  type SchedulePolicy,
} from './mode-schedule.ts';

/**
 * Longest sleep between evaluations, ms. The decision is recomputed at every schedule firing,
 * but also at least this often: a Pi without a real-time clock boots with a wrong time and
 * NTP moves it later, and a timer armed for a far instant would not notice.
 */
export const MAX_SLEEP_MS = 60_000;

/** The power state for status, telemetry and the local API. */
export interface PowerState {
  mode: PowerMode;
  decision: ModeDecision;
  next: { at: number; mode: string } | null;
  timeZone: string;
}

export interface PowerSchedulerOptions {
  clock: Clock;
  logger: Logger;
  policy: SchedulePolicy;
  modes: Readonly<Record<string, PowerMode>>;
  /** Where a manual override survives a restart; none: kept in memory only. */
  overrideFile?: string;
  /** Called with the new state whenever the mode in force changes. */
  onChange?: (state: PowerState) => void;
}

/** Why an override was refused. */
export type OverrideResult = { ok: true; state: PowerState } | { ok: false; code: string; message: string };

/**
 * Keeps the power mode in force up to date in real time: evaluates the pure decision at every
 * schedule firing and override expiry (on the injected clock), and applies a manual override.
 */
export class PowerScheduler {
  private readonly options: PowerSchedulerOptions;
  /** The schedules and modes in force (replaced by a config reload). */
  private policy: SchedulePolicy;
  private modes: Readonly<Record<string, PowerMode>>;
  private override: ModeOverride | null = null;
  private current: ModeDecision;
  private timer: TimerHandle | undefined;
  private running = false;

  constructor(options: PowerSchedulerOptions) {
    this.options = options;
    this.policy = options.policy;
    this.modes = options.modes;
    this.override = this.loadOverride();
    this.current = modeAt(this.policy, this.override, options.clock.now());
  }

  /** Starts following the schedules. */
  start(): void {
    this.running = true;
    this.evaluate();
  }

  stop(): void {
    this.running = false;
    this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The mode in force now. */
  mode(): PowerMode {
    return this.powerMode(this.current.mode);
  }

  /** The mode in force, why, and the next scheduled change. */
  state(): PowerState {
    const now = this.options.clock.now();
    return {
      mode: this.mode(),
      decision: this.current,
      next: nextChange(this.policy, this.override, now),
      timeZone: this.policy.timeZone,
    };
  }

  /** Forces a mode until untilMs, whatever the schedules say. */
  setOverride(mode: string, untilMs: number): OverrideResult {
    if (!(mode in this.modes)) {
      return {
        ok: false,
        code: 'MFP_ERR_UNKNOWN_MODE',
        message: `no power mode "${mode}"; configured: ${Object.keys(this.modes).join(', ')}`,
      };
    }
    if (!Number.isFinite(untilMs) || untilMs <= this.options.clock.now()) {
      return { ok: false, code: 'MFP_ERR_OVERRIDE_EXPIRED', message: 'the override must end in the future' };
    }
    this.override = { mode, untilMs };
    this.saveOverride();
    this.options.logger.info({ mode, until: new Date(untilMs).toISOString() }, 'power mode override set');
    this.evaluate();
    return { ok: true, state: this.state() };
  }

  /** Ends a manual override now. */
  clearOverride(): PowerState {
    this.override = null;
    this.saveOverride();
    this.evaluate();
    return this.state();
  }

  /**
   * Replaces the schedules and modes (config reload) and re-decides at once. An override of a
   * mode that no longer exists ends; a changed definition of the mode in force counts as a
   * change (the push lines take its new floor).
   */
  reconfigure(policy: SchedulePolicy, modes: Readonly<Record<string, PowerMode>>): PowerState {
    const before = this.mode();
    this.policy = policy;
    this.modes = modes;
    if (this.override && !(this.override.mode in modes)) {
      this.options.logger.warn({ mode: this.override.mode }, 'power override ended: its mode is gone');
      this.override = null;
      this.saveOverride();
    }
    this.evaluate(before);
    return this.state();
  }

  private evaluate(before: PowerMode = this.mode()): void {
    const { clock } = this.options;
    const { policy } = this;
    clock.clearTimeout(this.timer);
    this.timer = undefined;
    const now = clock.now();
    if (this.override && now >= this.override.untilMs) {
      this.override = null;
      this.saveOverride();
    }
    const decision = modeAt(policy, this.override, now);
    this.current = decision;
    const after = this.mode();
    const changed =
      after.name !== before.name ||
      after.minIntervalMs !== before.minIntervalMs ||
      after.changeThresholdMs !== before.changeThresholdMs;
    if (changed) {
      this.options.logger.info(
        { mode: decision.mode, source: decision.source, schedule: decision.schedule },
        'power mode changed',
      );
      this.options.onChange?.(this.state());
    }
    if (!this.running) return;
    const next = nextEvent(policy, this.override, now);
    const sleep = next === null ? MAX_SLEEP_MS : Math.min(MAX_SLEEP_MS, next - now);
    this.timer = clock.setTimeout(() => this.evaluate(), sleep);
  }

  private powerMode(name: string): PowerMode {
    const mode = this.modes[name];
    if (!mode)
      throw new Error(`power mode "${name}" is not configured (the config schema should have refused it)`);
    return mode;
  }

  private loadOverride(): ModeOverride | null {
    const file = this.options.overrideFile;
    if (!file) return null;
    try {
      const raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<ModeOverride> | null;
      if (raw && typeof raw.mode === 'string' && raw.mode in this.modes && typeof raw.untilMs === 'number')
        return { mode: raw.mode, untilMs: raw.untilMs };
    } catch {
      // No override saved (or an unreadable one): the schedules decide.
    }
    return null;
  }

  private saveOverride(): void {
    if (this.options.overrideFile) writeFileAtomic(this.options.overrideFile, JSON.stringify(this.override));
  }
}
