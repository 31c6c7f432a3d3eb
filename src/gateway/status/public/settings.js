// @ts-check
// The effective configuration, secrets masked by the daemon.
import { byId } from './dom.js';

/** @param {unknown} settings */
export function renderSettings(settings) {
  byId('settings-json').textContent = JSON.stringify(settings, null, 2);
}
