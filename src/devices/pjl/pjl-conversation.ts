import type { Clock, TimerHandle } from '../../clock/clock.ts';
import { DeviceError } from '../device-error.ts';
import type { PjlChannel } from './pjl-channel.ts';
import { type PjlMessage, PjlParseError, PjlReader } from './pjl-reader.ts';

interface Waiter {
  match: (m: PjlMessage) => boolean;
  resolve: (m: PjlMessage) => void;
  reject: (err: Error) => void;
  timer?: TimerHandle;
}

/**
 * One operation's exchange with a PJL device over a channel: parses what comes back,
 * hands every message to an observer (device status), and lets the operation wait for a
 * particular reply with a timeout on the injected clock. The first failure — garbage,
 * a lost line — fails every waiter with a DeviceError and ends the conversation.
 */
export class PjlConversation {
  private readonly reader = new PjlReader();
  private readonly waiters = new Set<Waiter>();
  private failure: DeviceError | undefined;
  private readonly unsubscribe: Array<() => void>;
  private readonly deviceId: string;
  private readonly clock: Clock;
  private rejectFailed: (err: DeviceError) => void = () => {};
  /** Rejects with the conversation's failure; race writes against it so a dead line cannot hang them. */
  readonly whenFailed: Promise<never>;

  constructor(
    channel: PjlChannel,
    context: {
      deviceId: string;
      clock: Clock;
      onMessage: (m: PjlMessage) => void;
      onLost: (err: Error) => DeviceError;
    },
  ) {
    this.deviceId = context.deviceId;
    this.clock = context.clock;
    this.whenFailed = new Promise<never>((_, reject) => {
      this.rejectFailed = reject;
    });
    this.whenFailed.catch(() => {});
    this.unsubscribe = [
      channel.onData((chunk) => {
        if (this.failure) return;
        let messages: PjlMessage[];
        try {
          messages = this.reader.push(chunk);
        } catch (err) {
          if (!(err instanceof PjlParseError)) throw err;
          this.fail(
            new DeviceError(
              'MFP_DEV_ERR_MALFORMED_REPLY',
              this.deviceId,
              `garbage on the PJL channel: ${err.message}`,
              {
                cause: err,
              },
            ),
          );
          return;
        }
        for (const m of messages) {
          context.onMessage(m);
          for (const w of this.waiters) {
            if (w.match(m)) this.settle(w, () => w.resolve(m));
          }
        }
      }),
      channel.onLost((err) => this.fail(context.onLost(err))),
    ];
  }

  /** The failure that ended the conversation, if any. */
  get failed(): DeviceError | undefined {
    return this.failure;
  }

  /**
   * Waits for a message that matches. With timeoutMs, fails with MFP_DEV_ERR_TIMEOUT when
   * none came in time; `rearm` lets the caller restart or suspend that timer later.
   */
  waitFor(
    match: (m: PjlMessage) => boolean,
    timeoutMs: number | undefined,
    what: string,
  ): { reply: Promise<PjlMessage>; rearm: (ms: number | undefined) => void } {
    let waiter: Waiter | undefined;
    const arm = (ms: number | undefined) => {
      if (!waiter) return;
      this.clock.clearTimeout(waiter.timer);
      waiter.timer = undefined;
      if (ms === undefined) return;
      const w = waiter;
      w.timer = this.clock.setTimeout(
        () =>
          this.settle(w, () =>
            w.reject(new DeviceError('MFP_DEV_ERR_TIMEOUT', this.deviceId, `no ${what} within ${ms} ms`)),
          ),
        ms,
      );
    };
    const reply = new Promise<PjlMessage>((resolve, reject) => {
      if (this.failure) {
        reject(this.failure);
        return;
      }
      waiter = { match, resolve, reject };
      this.waiters.add(waiter);
      arm(timeoutMs);
    });
    return { reply, rearm: arm };
  }

  /** Fails the conversation (and every waiter) with err, e.g. when the caller aborts. */
  fail(err: DeviceError): void {
    if (this.failure) return;
    this.failure = err;
    this.rejectFailed(err);
    for (const w of this.waiters) this.settle(w, () => w.reject(err));
  }

  /** Stops listening to the channel and clears timers. */
  end(): void {
    for (const u of this.unsubscribe) u();
    for (const w of this.waiters) this.clock.clearTimeout(w.timer);
    this.waiters.clear();
  }

  private settle(w: Waiter, fn: () => void): void {
    if (!this.waiters.delete(w)) return;
    this.clock.clearTimeout(w.timer);
    fn();
  }
}
