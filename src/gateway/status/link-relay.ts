import { EventEmitter } from 'node:events';
import type { LinkStatus } from '../link/line-supervisor.ts';
import type { LinkSource } from '../systemd/service-notifier.ts';

const NO_LINK: LinkStatus = { lines: [], linesUp: 0, advice: null, representative: false, probing: false };

/**
 * Stands in for the daemon's link while setup mode waits for a config, so systemd hears
 * READY=1 (a Type=notify service that never says it is ready is killed and restarted:
 * the crash loop setup mode exists to avoid), then follows the real link once it runs.
 */
export class LinkRelay extends EventEmitter<{ change: [] }> {
  private link: LinkSource | null = null;

  status(): LinkStatus {
    return this.link?.status() ?? NO_LINK;
  }

  /** From now on, reports this link. */
  attach(link: LinkSource): void {
    this.link = link;
    link.on('change', () => this.emit('change'));
    this.emit('change');
  }
}
