import type { Clock } from '../clock/clock.ts';
import type { CloudConfig } from '../config/cloud-config.ts';
import type { Logger } from '../log/logger.ts';

/** What every part of the reference cloud is built with. */
export interface CloudContext {
  readonly config: CloudConfig;
  readonly clock: Clock;
  readonly logger: Logger;
}
