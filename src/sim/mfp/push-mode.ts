import { existsSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '../../log/logger.ts';
import { SimPushClient } from './push-client.ts';

export interface PushModeOptions {
  url: string;
  deviceId: string;
  token: string;
  /** While this file exists the device sleeps (disconnected); removing it wakes the device. */
  sleepFile?: string;
  logger: Logger;
  software?: string;
}

/**
 * The sim MFP's `--push-via-gateway` mode: its push connection through the gateway's push
 * proxy, with a sleep switch a test or a person can flip from outside (create or remove
 * the sleep file). Returns a function that stops both.
 */
export function startPushMode(options: PushModeOptions): () => void {
  const client = new SimPushClient({
    url: options.url,
    deviceId: options.deviceId,
    token: options.token,
    logger: options.logger,
    software: options.software,
  });
  const { sleepFile } = options;
  if (!sleepFile) {
    client.start();
    return () => client.stop();
  }
  let asleep = existsSync(sleepFile);
  // Watching the folder sees the file come and go (a watch on the file itself ends with it).
  const watcher = watch(dirname(sleepFile), (_event, name) => {
    if (name !== null && name !== basename(sleepFile)) return;
    const now = existsSync(sleepFile);
    if (now === asleep) return;
    asleep = now;
    if (now) client.sleep();
    else client.wake();
  });
  if (asleep) client.sleep();
  client.start();
  return () => {
    watcher.close();
    client.stop();
  };
}
