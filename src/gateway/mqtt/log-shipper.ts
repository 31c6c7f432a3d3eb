import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import type { LogSpool } from './log-spool.ts';

/** Batches handed to the client and not yet acknowledged, at most. */
const MAX_BATCHES_IN_FLIGHT = 4;

export interface LogShipperOptions {
  clock: Clock;
  logger: Logger;
  spool: LogSpool;
  client: MqttClient;
  topic: string;
  gatewayId: string;
  batchSize: number;
  batchEveryMs: number;
}

/** The body of one log batch on `mfpgw/{gateway}/log`. */
export interface LogBatch {
  gatewayId: string;
  first: number;
  last: number;
  /** Records ever dropped over the spool's bound (a gap in seq says where). */
  dropped: number;
  records: { seq: number; at: number; record: unknown }[];
}

/**
 * Ships spooled log records in batches (QoS 1) while the broker is reachable; a batch leaves
 * the spool only on its PUBACK. Delivery is at least once: a batch cut short by a restart is
 * sent again, so receivers deduplicate by `seq`.
 */
export class LogShipper extends EventEmitter<{ shipped: [first: number, last: number] }> {
  private readonly options: LogShipperOptions;
  /** Highest seq handed to the client in this process. */
  private cursor = 0;
  private inFlight = 0;
  private timer: TimerHandle | undefined;
  private running = false;
  private readonly onConnect = () => this.kick();

  constructor(options: LogShipperOptions) {
    super();
    this.options = options;
  }

  start(): void {
    this.running = true;
    this.options.client.on('connect', this.onConnect);
    this.kick();
  }

  stop(): void {
    this.running = false;
    this.options.client.off('connect', this.onConnect);
    this.options.clock.clearTimeout(this.timer);
  }

  /** Spools a record durably and ships it with the next batch. */
  append(record: unknown): number {
    const seq = this.options.spool.append(this.options.clock.now(), record);
    this.kick();
    return seq;
  }

  /** Sends what is due; arms a timer for a partial batch that is not due yet. */
  private kick(): void {
    const { clock, client, spool, batchSize, batchEveryMs } = this.options;
    clock.clearTimeout(this.timer);
    this.timer = undefined;
    while (this.running && client.connected && this.inFlight < MAX_BATCHES_IN_FLIGHT) {
      const rows = spool.oldest(this.cursor, batchSize);
      const first = rows[0];
      const last = rows[rows.length - 1];
      if (!first || !last) return;
      const dueAt = first.at + batchEveryMs;
      if (rows.length < batchSize && dueAt > clock.now()) {
        this.timer = clock.setTimeout(() => this.kick(), dueAt - clock.now());
        return;
      }
      this.send({
        gatewayId: this.options.gatewayId,
        first: first.seq,
        last: last.seq,
        dropped: spool.dropped,
        records: rows.map((r) => ({ seq: r.seq, at: r.at, record: JSON.parse(r.body) as unknown })),
      });
    }
  }

  private send(batch: LogBatch): void {
    this.cursor = batch.last;
    this.inFlight++;
    this.options.client.publishAsync(this.options.topic, JSON.stringify(batch), { qos: 1 }).then(
      () => {
        this.inFlight--;
        this.options.spool.remove(batch.first, batch.last);
        this.emit('shipped', batch.first, batch.last);
        this.kick();
      },
      (err: Error) => {
        this.inFlight--;
        // Not acknowledged: the records stay spooled and go again (at least once).
        this.cursor = Math.min(this.cursor, batch.first - 1);
        this.options.logger.warn(
          { err: err.message, first: batch.first },
          'log batch not acknowledged; kept',
        );
      },
    );
  }
}
