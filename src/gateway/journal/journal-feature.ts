import { join } from 'node:path';
import type { Feature } from '../../lifecycle/feature.ts';
import type { GatewayContext } from '../gateway-context.ts';
import { GatewayJournal } from './gateway-journal.ts';

/** Stores every `tunnel-closed` record and devices' syslog; emits `journal-record` for shipping. */
export class JournalFeature implements Feature {
  readonly name = 'journal';
  readonly journal: GatewayJournal;

  constructor(ctx: GatewayContext) {
    const { config, bus } = ctx;
    this.journal = new GatewayJournal({
      clock: ctx.clock,
      logger: ctx.logger,
      file: join(config.gateway.stateDir, 'journal.db'),
      settings: config.journal,
      forward: (record) => bus.emit('journal-record', record),
    });
    bus.on(this.name, 'tunnel-closed', (record) => this.journal.recordTunnel(record));
  }

  start(): void {
    this.journal.start();
  }

  stop(): Promise<void> {
    return this.journal.stop();
  }
}
