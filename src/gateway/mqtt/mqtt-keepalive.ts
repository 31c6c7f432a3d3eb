import type { Advice } from '../../protocol/messages.ts';
import type { PowerMode } from '../keepalive/power-policy.ts';

/**
 * The MQTT keep-alive, decided in one place: which interval the gateway asks the broker for,
 * which one is in force, and when a session is worth renewing to change it. Pure: no clock,
 * no I/O.
 *
 * Rule: the keep-alive follows the interval the cloud learned for this gateway's push lines
 * (seed 000's advice; the MQTT session crosses the same middleboxes), `mqtt.keepalive` until
 * one is learned; never more often than the power mode allows; within what MQTT can say. A
 * Server Keep Alive in an MQTT 5 CONNACK overrides what we asked for (MQTT 5, 3.2.2.3.14: the
 * client MUST use it); mqtt.js applies it to the live session.
 */

/** Longest MQTT keep-alive the protocol can express, ms (a 16-bit count of seconds). */
export const MAX_MQTT_KEEPALIVE_MS = 65_535_000;
/** Shortest keep-alive we ask for, ms: below it pings cost more than a dropped session. */
export const MIN_MQTT_KEEPALIVE_MS = 10_000;

/** Where a keep-alive comes from. */
export type KeepaliveSource = 'config' | 'advice' | 'power-mode' | 'broker';

/** A keep-alive in whole seconds, and why it is that. */
export interface MqttKeepalive {
  seconds: number;
  source: KeepaliveSource;
}

/** An interval as an MQTT keep-alive in seconds, within what MQTT can say. */
export function keepaliveSeconds(intervalMs: number): number {
  return Math.round(Math.min(MAX_MQTT_KEEPALIVE_MS, Math.max(MIN_MQTT_KEEPALIVE_MS, intervalMs)) / 1000);
}

/** The keep-alive to ask the broker for in the next CONNECT. */
export function wantedKeepalive(input: {
  configuredMs: number;
  advice: Advice | null;
  mode: PowerMode;
}): MqttKeepalive {
  // The cloud's 'default' advice is its fallback, not something it learned of this path.
  const learned = input.advice && input.advice.source !== 'default' ? input.advice.intervalMs : null;
  const baseMs = learned ?? input.configuredMs;
  if (input.mode.minIntervalMs > baseMs)
    return { seconds: keepaliveSeconds(input.mode.minIntervalMs), source: 'power-mode' };
  return { seconds: keepaliveSeconds(baseMs), source: learned === null ? 'config' : 'advice' };
}

/** The keep-alive of a session: the broker's Server Keep Alive when it sent one, else what we asked. */
export function keepaliveInForce(
  requested: MqttKeepalive,
  serverKeepAlive: number | undefined,
): MqttKeepalive {
  return serverKeepAlive === undefined ? requested : { seconds: serverKeepAlive, source: 'broker' };
}

/**
 * Whether to renew a live session so the broker learns a new keep-alive (MQTT cannot change it
 * within a session). A shorter one always: the path may now drop the session before we ping.
 * A longer one only by at least the mode's change threshold (seed 000's operation condition),
 * and never above a keep-alive the broker imposed: it would impose it again.
 */
export function renewalWanted(inForce: MqttKeepalive, wanted: MqttKeepalive, mode: PowerMode): boolean {
  if (wanted.seconds < inForce.seconds) return true;
  if (inForce.source === 'broker') return false;
  return (
    wanted.seconds > inForce.seconds && (wanted.seconds - inForce.seconds) * 1000 >= mode.changeThresholdMs
  );
}
