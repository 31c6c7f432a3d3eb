import type { Advice } from '../../protocol/messages.ts';
import type { LineStatus } from '../link/push-line.ts';

/**
 * The page's one-line answer to "is the gateway doing its job?":
 * - `ok`: every push line up, the firewall's idle timeout learned;
 * - `learning`: connected, the timeout still being narrowed down (or probed);
 * - `degraded`: connected, but a push line is down, MQTT is down or the advice needs an operator;
 * - `disconnected`: no push line up, the cloud cannot reach the gateway.
 */
export type HealthState = 'ok' | 'learning' | 'degraded' | 'disconnected';

/** A phrase of the verdict, with the technical term behind it (the page's tooltip), if any. */
export interface HealthPhrase {
  text: string;
  term: string | null;
}

export interface HealthVerdict {
  state: HealthState;
  /** The headline, phrase by phrase ("Connected", "firewall forgets idle lines after ≈20 s", …). */
  headline: HealthPhrase[];
  /** What an admin should know beyond the headline: what is down, what is being learned. */
  notes: HealthPhrase[];
}

/** What the verdict looks at: the snapshot's parts, nothing else. */
export interface HealthInputs {
  lines: readonly LineStatus[];
  advice: Advice | null;
  /** The interval the push lines keep, ms. */
  effectiveMs: number | null;
  limitedByPolicy: boolean;
  powerMode: string;
  /** A probe line is open. */
  probing: boolean;
  mqtt: { broker: string; connected: boolean } | null;
  /** The advice's warning for an operator (protocol/advice-words.ts), or null. */
  adviceWarning: string | null;
}

/** Milliseconds as the page writes them: "19 s", "1.5 s", "2 min 5 s", "3 h". */
export function spokenDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return ms < 10_000 && ms % 1000 ? `${(ms / 1000).toFixed(1)} s` : `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m} min ${s % 60 ? `${s % 60} s` : ''}`.trim();
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60 ? `${m % 60} min` : ''}`.trim();
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

const BOUNDS_TERM =
  'the idle timeout T: L < T ≤ U, L the longest idle gap that still worked, U the shortest that failed';

/** What is known of the firewall's idle timeout, in one phrase. */
function timeoutPhrase(advice: Advice | null): HealthPhrase {
  if (!advice) return { text: 'waiting for the cloud’s advice', term: 'no welcome from the cloud yet' };
  const { lowerBoundMs: lower, upperBoundMs: upper, converged } = advice;
  if (lower !== null && upper !== null) {
    if (converged) {
      // Converged: L and U are within the learner's precision; their middle is the timeout.
      const middle = Math.round((lower + upper) / 2 / 1000) * 1000;
      return {
        text: `firewall forgets idle lines after ≈${spokenDuration(middle)}`,
        term: `${BOUNDS_TERM}; here ${spokenDuration(lower)} < T ≤ ${spokenDuration(upper)}`,
      };
    }
    return {
      text: `firewall forgets idle lines after ${spokenDuration(lower)} to ${spokenDuration(upper)} (narrowing down)`,
      term: BOUNDS_TERM,
    };
  }
  if (upper !== null)
    return { text: `firewall forgets idle lines within ${spokenDuration(upper)}`, term: BOUNDS_TERM };
  if (lower !== null)
    return {
      text: `no idle line cut yet (${spokenDuration(lower)} idle worked)`,
      term: `${BOUNDS_TERM}; no U yet`,
    };
  return { text: 'firewall’s idle timeout not known yet', term: 'no L and no U yet' };
}

/** The verdict for the page's banner. Pure: the same inputs give the same words. */
export function healthVerdict(inputs: HealthInputs): HealthVerdict {
  const push = inputs.lines.filter((l) => l.role === 'push');
  const up = push.filter((l) => l.state === 'open').length;
  const notes: HealthPhrase[] = [];

  if (up === 0) {
    if (push.some((l) => l.state === 'auth-failed')) {
      notes.push({
        text: 'The cloud refused this gateway’s token: check cloud.token in the config.',
        term: 'auth-failed',
      });
    }
    const error = push.find((l) => l.lastError)?.lastError;
    if (error) notes.push({ text: `Last error: ${error}`, term: null });
    notes.push({
      text: 'The gateway keeps trying to reconnect on its own; pushes cannot reach the printers meanwhile.',
      term: null,
    });
    return {
      state: 'disconnected',
      headline: [{ text: 'Not connected to the cloud', term: `0 of ${push.length} push lines open` }],
      notes,
    };
  }

  const keepalive: HealthPhrase =
    inputs.effectiveMs === null
      ? { text: 'no keep-alive yet', term: null }
      : {
          text: `keep-alive every ${spokenDuration(inputs.effectiveMs)}${inputs.limitedByPolicy ? ` (power mode ${inputs.powerMode})` : ''}`,
          term: inputs.limitedByPolicy
            ? 'keep-alive interval: the power policy keeps alive less often than the cloud advises'
            : 'keep-alive interval, as the cloud advises',
        };
  const headline: HealthPhrase[] = [
    up < push.length
      ? { text: `Connected on ${up} of ${push.length} lines`, term: 'push lines open' }
      : { text: 'Connected', term: `${up} of ${push.length} push lines open` },
    timeoutPhrase(inputs.advice),
    keepalive,
  ];

  let degraded = false;
  if (up < push.length) {
    degraded = true;
    const down = push.length - up;
    notes.push({
      text: `${down} push line${down === 1 ? ' is' : 's are'} down and reconnecting; the other${up === 1 ? ' carries' : 's carry'} the pushes.`,
      term: null,
    });
  }
  if (inputs.mqtt && !inputs.mqtt.connected) {
    degraded = true;
    notes.push({ text: `The MQTT broker ${inputs.mqtt.broker} is not reachable.`, term: null });
  }
  if (inputs.adviceWarning) {
    degraded = true;
    notes.push({ text: inputs.adviceWarning, term: null });
  }
  const learning = !inputs.advice?.converged || inputs.probing;
  if (inputs.probing) {
    notes.push({
      text: 'Measuring the firewall with test lines: the firewall cutting them is planned, not an outage.',
      term: 'probe lines',
    });
  } else if (learning) {
    notes.push({
      text: 'Still learning how long the firewall keeps idle lines: the keep-alive interval may change.',
      term: 'not converged',
    });
  }
  return { state: degraded ? 'degraded' : learning ? 'learning' : 'ok', headline, notes };
}
