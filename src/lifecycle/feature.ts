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

/** A part that has start and stop of its own, named as a feature. */
export function namedFeature(name: string, part: { start(): unknown; stop(): unknown }): Feature {
  return {
    name,
    start: async () => {
      await part.start();
    },
    stop: async () => {
      await part.stop();
    },
  };
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
  /**
   * Every feature is needed (the cloud: no port, no cloud): the first that fails to start
   * stops the ones before it, in reverse, and startFeatures rejects with its error.
   */
  allNeeded?: boolean;
}

/**
 * Starts the features in order, each guarded: one that fails to start is logged and the
 * others start and run on without it (a window on the daemon, like its status page, must not
 * take its lines down), unless `allNeeded`. Stopping goes in reverse order, so a feature stops
 * before the ones it was started after (and reads).
 */
export async function startFeatures(
  features: readonly Feature[],
  deps: StartFeaturesDeps,
): Promise<StartedFeatures> {
  for (const [i, feature] of features.entries()) {
    try {
      await feature.start();
    } catch (err) {
      if (deps.allNeeded) {
        await stopAll(features.slice(0, i + 1), deps);
        throw err;
      }
      deps.logger.error(
        { feature: feature.name, err: (err as Error).message },
        `${feature.name} cannot start; the rest runs on without it`,
      );
    }
  }
  return { stop: () => stopAll(features, deps) };
}

/** Stops the features in reverse order, each guarded, removing each one's bus listeners. */
async function stopAll(features: readonly Feature[], { logger, bus }: StartFeaturesDeps): Promise<void> {
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
}
