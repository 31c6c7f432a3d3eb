import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import type { CloudLine, ExchangeOutcome } from './cloud-line.ts';
import type { FleetCalls } from './fleet-calls.ts';
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
  /** The other nodes of a fleet, holding the lines this node does not (absent: one node). */
  fleet?: FleetCalls | undefined;
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

  /**
   * Sends one push and resolves when it was acknowledged or definitely failed: this node's
   * lines first (the one proven alive last first), then those other nodes hold.
   */
  async push(gatewayId: string, dataType: string, payload: unknown): Promise<PushResult> {
    const { server, clock, fleet } = this.options;
    const pushId = randomUUID();
    const deadline = clock.now() + this.options.deadlineMs;
    const tried = new Set<CloudLine | string>();
    let attempts = 0;
    let lastFailure = 'no push line of the gateway is connected';
    let alternateTried = false;
    while (clock.now() < deadline) {
      const ackTimeout = () => Math.min(this.options.ackTimeoutMs, Math.max(1, deadline - clock.now()));
      const line = server.directory
        .lines(gatewayId, 'push')
        .filter((l) => !tried.has(l))
        .sort((a, b) => a.silenceMs() - b.silenceMs())[0];
      if (line) {
        tried.add(line);
        attempts++;
        const outcome = await this.pushOnLine(line, { pushId, dataType, payload }, ackTimeout());
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
        continue;
      }
      const remote = fleet
        ? server.directory
            .remoteLines(gatewayId, 'push')
            .find((l) => !tried.has(`${l.node} ${l.connectionId}`))
        : undefined;
      if (remote && fleet) {
        tried.add(`${remote.node} ${remote.connectionId}`);
        attempts++;
        const outcome = await fleet.push(remote, { pushId, dataType, payload }, ackTimeout());
        if (outcome.ok) {
          return {
            delivered: true,
            pushId,
            line: 'websocket',
            connection: remote.connectionId,
            idleBeforeMs: outcome.idleBeforeMs,
            attempts,
          };
        }
        lastFailure = `line ${remote.connectionId} on node ${remote.node} failed (${outcome.failure})`;
        continue;
      }
      const { alternate } = this.options;
      if (alternate && !alternateTried) {
        alternateTried = true;
        attempts++;
        const timeout = ackTimeout();
        if (await alternate.push(gatewayId, { pushId, dataType, payload }, timeout)) {
          return { delivered: true, pushId, line: 'mqtt', connection: 'mqtt', idleBeforeMs: 0, attempts };
        }
        lastFailure = `${lastFailure}; no acknowledgement over MQTT within ${timeout} ms`;
        continue;
      }
      const arrived = await this.waitForLine(gatewayId, deadline - clock.now());
      if (!arrived) break;
    }
    return { delivered: false, pushId, reason: lastFailure, attempts };
  }

  /**
   * One attempt on one of this node's lines (for this node's pushes and for other nodes'):
   * the outcome is logged as evidence; a line that failed is closed and the gateway is told,
   * over another line, to restore it.
   */
  async pushOnLine(
    line: CloudLine,
    push: { pushId: string; dataType: string; payload: unknown },
    ackTimeoutMs: number,
  ): Promise<ExchangeOutcome> {
    const { server } = this.options;
    const outcome = await line.exchange(`push:${push.pushId}`, { type: 'push', ...push }, ackTimeoutMs);
    void server.recordOutcome(line, 'push', outcome);
    if (outcome.ok) return outcome;
    this.options.logger.warn(
      { gateway: line.gatewayId, pushId: push.pushId, line: line.connectionId, failure: outcome.failure },
      'push failed on a line; retrying on another',
    );
    line.terminate(`push failed: ${outcome.failure}`);
    server.restore(
      line.gatewayId,
      [line.connectionId],
      `line ${line.connectionId} failed after ${outcome.idleBeforeMs} ms idle (${outcome.failure})`,
    );
    return outcome;
  }

  /** Waits until a push line of the gateway comes up, or the time runs out. */
  private waitForLine(gatewayId: string, withinMs: number): Promise<boolean> {
    const { server, clock } = this.options;
    if (withinMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const { directory } = server;
      const onUp = (line: { gatewayId: string; role: CloudLine['role'] }) => {
        if (line.gatewayId !== gatewayId || line.role !== 'push') return;
        clock.clearTimeout(timer);
        done(true);
      };
      const done = (arrived: boolean) => {
        directory.off('line-up', onUp);
        directory.off('remote-line-up', onUp);
        resolve(arrived);
      };
      const timer = clock.setTimeout(() => done(false), withinMs);
      directory.on('line-up', onUp);
      directory.on('remote-line-up', onUp);
    });
  }
}
