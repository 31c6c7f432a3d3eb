import type { Logger } from '../../log/logger.ts';
import type { Push } from '../../protocol/messages.ts';
import { RecentIds } from './recent-ids.ts';

/** The kinds of line a push can arrive on. */
export type PushLineKind = 'websocket' | 'mqtt';

/**
 * Where pushes from every line meet: a push may come over a WebSocket line and over MQTT
 * (retried after a lost ack), and is handed on once. Counts what each kind of line brought.
 */
export class PushIntake {
  private readonly seen = new RecentIds();
  private readonly counts: Record<PushLineKind, number> = { websocket: 0, mqtt: 0 };
  private readonly log: Logger;
  private readonly deliver: ((push: Push) => Promise<void> | void) | undefined;

  /** `deliver` receives every push once; resolve to acknowledge it. */
  constructor(logger: Logger, deliver?: (push: Push) => Promise<void> | void) {
    this.log = logger;
    this.deliver = deliver;
  }

  /** Takes a push from a line; resolves when it may be acknowledged. */
  async take(push: Push, line: PushLineKind): Promise<void> {
    if (!this.seen.add(push.pushId)) return;
    this.counts[line]++;
    this.log.info({ pushId: push.pushId, dataType: push.dataType, line }, 'push received');
    await this.deliver?.(push);
  }

  /** Pushes handed on so far, per line kind. */
  received(): Record<PushLineKind, number> {
    return { ...this.counts };
  }
}
