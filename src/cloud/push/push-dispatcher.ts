import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import type { CloudLine } from './cloud-line.ts';
import type { PushServer } from './push-server.ts';

/** The result of one push request, as the HTTP API reports it; `line` says which kind carried it. */
export type PushResult =
  | {
      delivered: true;
      pushId: string;
      line: 'websocket' | 'mqtt';
      connection: string;
      idleBeforeMs: number;
      attempts: number;
    }
  | { delivered: false; pushId: string; reason: string; attempts: number };

export interface PushDispatcherOptions {
  server: PushServer;
  clock: Clock;
  logger: Logger;
  ackTimeoutMs: number;
  deadlineMs: number;
  /** The alternate push line (MQTT), tried when the gateway has no live WebSocket line. */
  alternate?: AlternatePushLine;
}

/** A second way to reach a gateway: resolves true once the gateway acknowledged the push. */
export interface AlternatePushLine {
  push(
    gatewayId: string,
    push: { pushId: string; dataType: string; payload: unknown },
    timeoutMs: number,
  ): Promise<boolean>;
}

/**
 * Delivers a push to a gateway: on the live push line the gateway proved alive last, first; when a line fails
 * (no ack, reset, write error) the line is closed, the gateway is told over another live
 * line to restore it, and the push is retried there — until acknowledged or the deadline.
 */
export class PushDispatcher {
  private readonly options: PushDispatcherOptions;

  constructor(options: PushDispatcherOptions) {
    this.options = options;
  }

  /** Sends one push and resolves when it was acknowledged or definitely failed. */
  async push(gatewayId: string, dataType: string, payload: unknown): Promise<PushResult> {
    const { server, clock } = this.options;
    const pushId = randomUUID();
    const deadline = clock.now() + this.options.deadlineMs;
    const tried = new Set<CloudLine>();
    let attempts = 0;
    let lastFailure = 'no push line of the gateway is connected';
    let alternateTried = false;
    while (clock.now() < deadline) {
      const line = server.directory
        .lines(gatewayId, 'push')
        .filter((l) => !tried.has(l))
        .sort((a, b) => a.silenceMs() - b.silenceMs())[0];
      if (!line) {
        const { alternate } = this.options;
        if (alternate && !alternateTried) {
          alternateTried = true;
          attempts++;
          const timeout = Math.min(this.options.ackTimeoutMs, Math.max(1, deadline - clock.now()));
          if (await alternate.push(gatewayId, { pushId, dataType, payload }, timeout)) {
            return { delivered: true, pushId, line: 'mqtt', connection: 'mqtt', idleBeforeMs: 0, attempts };
          }
          lastFailure = `${lastFailure}; no acknowledgement over MQTT within ${timeout} ms`;
          continue;
        }
        const arrived = await this.waitForLine(gatewayId, deadline - clock.now());
        if (!arrived) break;
        continue;
      }
      tried.add(line);
      attempts++;
      const ackTimeout = Math.min(this.options.ackTimeoutMs, Math.max(1, deadline - clock.now()));
      const outcome = await line.exchange(
        `push:${pushId}`,
        { type: 'push', pushId, dataType, payload },
        ackTimeout,
      );
      void server.recordOutcome(line, 'push', outcome);
      if (outcome.ok) {
        return {
          delivered: true,
          pushId,
          line: 'websocket',
          connection: line.connectionId,
          idleBeforeMs: outcome.idleBeforeMs,
          attempts,
        };
      }
      lastFailure = `line ${line.connectionId} failed after ${outcome.idleBeforeMs} ms idle (${outcome.failure})`;
      this.options.logger.warn(
        { gateway: gatewayId, pushId, line: line.connectionId, failure: outcome.failure },
        'push failed on a line; retrying on another',
      );
      line.terminate(`push failed: ${outcome.failure}`);
      server.restore(gatewayId, [line.connectionId], lastFailure);
    }
    return { delivered: false, pushId, reason: lastFailure, attempts };
  }

  /** Waits until a push line of the gateway comes up, or the time runs out. */
  private waitForLine(gatewayId: string, withinMs: number): Promise<boolean> {
    const { server, clock } = this.options;
    if (withinMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onUp = (line: CloudLine) => {
        if (line.gatewayId !== gatewayId || line.role !== 'push') return;
        clock.clearTimeout(timer);
        server.directory.off('line-up', onUp);
        resolve(true);
      };
      const timer = clock.setTimeout(() => {
        server.directory.off('line-up', onUp);
        resolve(false);
      }, withinMs);
      server.directory.on('line-up', onUp);
    });
  }
}
