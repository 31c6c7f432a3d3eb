import type { Logger } from '../log/logger.ts';

/**
 * One part of a daemon with a lifecycle (zigbee2mqtt's extension): built with what it needs,
 * started once, stopped once. Building starts no work; `start` does.
 */
export interface Feature {
  /** Names the feature in logs, and owns its event-bus listeners. */
  readonly name: string;
  start(): void | Promise<void>;
  /** Called even when `start` failed: stops whatever of it did start. */
  stop(): void | Promise<void>;
}

/** Features started by startFeatures. */
export interface StartedFeatures {
  /** Stops every feature in reverse order, each guarded, and removes its bus listeners. */
  stop(): Promise<void>;
}

export interface StartFeaturesDeps {
  logger: Logger;
  /** The bus the features listen on: a stopped feature's listeners are removed from it. */
  bus?: { removeOwner(owner: string): void };
}

/**
 * Starts the features in order, each guarded: one that fails to start is logged and the
 * others start and run on without it (a window on the daemon, like its status page, must not
 * take its lines down). Stopping goes in reverse order, so a feature stops before the ones it
 * was started after (and reads).
 */
export async function startFeatures(
  features: readonly Feature[],
  deps: StartFeaturesDeps,
): Promise<StartedFeatures> {
  const { logger, bus } = deps;
  for (const feature of features) {
    try {
      await feature.start();
    } catch (err) {
      logger.error(
        { feature: feature.name, err: (err as Error).message },
        `${feature.name} cannot start; the rest runs on without it`,
      );
    }
  }
  return {
    async stop() {
      for (const feature of [...features].reverse()) {
        try {
          await feature.stop();
        } catch (err) {
          logger.error(
            { feature: feature.name, err: (err as Error).message },
            `${feature.name} did not stop cleanly`,
          );
        }
        bus?.removeOwner(feature.name);
      }
    },
  };
}
