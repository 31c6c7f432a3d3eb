import { formatDuration } from '../calendar/duration.ts';
import type { Advice } from './messages.ts';

/** Advice explained for people. */
export interface AdviceInWords {
  /** Where the advised interval comes from (the sentences of docs/keepalive-learning.md). */
  comesFrom: string;
  /** Something an operator must act on, or null. */
  warning: string | null;
}

const DEFAULT = 'the default (keepalive.default): nothing learned contradicts it';
const HALF_FAILING = 'half the shortest idle gap that failed (U): nothing longer is known to work yet';
const LONGEST_GOOD: Record<Advice['source'], string> = {
  history:
    'learned on this gateway’s push lines: the longest idle gap that still worked (L), minus the margin',
  probe: 'learned by probing: the longest idle gap that still worked on a probe line (L), minus the margin',
  domain:
    'shared by the site: the longest idle gap that still worked (L) on other gateways of the same domain and egress address that agree, minus the margin',
  default: DEFAULT,
};

/**
 * Where the advice came from and what an operator should know, in the same words on the
 * cloud's API and the gateway's status page as in docs/keepalive-learning.md.
 */
export function adviceInWords(advice: Advice): AdviceInWords {
  const basis = advice.basis ?? (advice.source === 'default' ? 'default' : 'longest-good-gap');
  let comesFrom =
    basis === 'default' ? DEFAULT : basis === 'half-failing-gap' ? HALF_FAILING : LONGEST_GOOD[advice.source];
  if (basis === 'longest-good-gap' && advice.lowerBoundMs !== null)
    comesFrom += ` (L = ${formatDuration(advice.lowerBoundMs)})`;
  if (basis === 'half-failing-gap' && advice.upperBoundMs !== null)
    comesFrom += ` (U = ${formatDuration(advice.upperBoundMs)})`;
  const upper = advice.upperBoundMs;
  const warning =
    upper !== null && advice.intervalMs >= upper
      ? `lines die after ${formatDuration(upper)} idle, less than the shortest interval the cloud may advise (keepalive.min): lower the cloud's keepalive.min below ${formatDuration(upper)}`
      : null;
  return { comesFrom, warning };
}
