import type { Feature } from '../../lifecycle/feature.ts';
import type { Logger } from '../../log/logger.ts';
import { loadMallocTrim, type MallocTrimLoad } from '../../runtime/malloc-trim.ts';
import type { GatewayContext } from '../gateway-context.ts';
import { HeapTrimmer, TRIM_EVERY_MS } from './heap-trimmer.ts';

/**
 * Gives glibc's free heap pages back to the kernel every minute (heap-trimmer.ts), when the
 * app was built with its malloc_trim addon; without it (run from src/) the gateway runs as
 * it would otherwise, and says so at debug level.
 */
export class HeapTrimFeature implements Feature {
  readonly name = 'heap-trim';
  private readonly logger: Logger;
  private readonly ctx: GatewayContext;
  private readonly load: () => MallocTrimLoad;
  private trimmer: HeapTrimmer | undefined;

  constructor(ctx: GatewayContext, load: () => MallocTrimLoad = loadMallocTrim) {
    this.ctx = ctx;
    this.load = load;
    this.logger = ctx.logger.child({ part: 'heap-trim' });
  }

  start(): void {
    const loaded = this.load();
    if ('unavailable' in loaded) {
      this.logger.debug({ reason: loaded.unavailable }, 'heap trimming off');
      return;
    }
    this.trimmer = new HeapTrimmer({ clock: this.ctx.clock, trim: loaded.trim });
    this.trimmer.start();
    this.logger.debug({ everyMs: TRIM_EVERY_MS }, 'heap trimming on');
  }

  stop(): void {
    this.trimmer?.stop();
  }
}
