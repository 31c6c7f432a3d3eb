import { describe, expect, it } from 'vitest';
import type { PowerMode } from '../../../src/gateway/keepalive/power-policy.ts';
import {
  keepaliveInForce,
  keepaliveSeconds,
  renewalWanted,
  wantedKeepalive,
} from '../../../src/gateway/mqtt/mqtt-keepalive.ts';
import type { Advice } from '../../../src/protocol/messages.ts';

const NORMAL: PowerMode = { name: 'normal', minIntervalMs: 0, changeThresholdMs: 0 };
const POWER_SAVING: PowerMode = {
  name: 'power-saving',
  minIntervalMs: 3_600_000,
  changeThresholdMs: 1_800_000,
};

const advice = (intervalMs: number, source: Advice['source'] = 'history'): Advice => ({
  intervalMs,
  source,
  mcvtMs: null,
  lowerBoundMs: null,
  upperBoundMs: null,
  lifetimeCapMs: null,
  reconnectBeforeAgeMs: null,
  converged: false,
});

describe('wantedKeepalive', () => {
  it('asks for the configured keep-alive until the cloud learned an interval', () => {
    expect(wantedKeepalive({ configuredMs: 60_000, advice: null, mode: NORMAL })).toEqual({
      seconds: 60,
      source: 'config',
    });
    // The cloud's default is no knowledge of the path.
    expect(
      wantedKeepalive({ configuredMs: 60_000, advice: advice(50_000, 'default'), mode: NORMAL }),
    ).toEqual({
      seconds: 60,
      source: 'config',
    });
  });

  it('follows the learned interval, from history, the domain or probing', () => {
    for (const source of ['history', 'domain', 'probe'] as const) {
      expect(
        wantedKeepalive({ configuredMs: 60_000, advice: advice(1_140_000, source), mode: NORMAL }),
      ).toEqual({
        seconds: 1140,
        source: 'advice',
      });
    }
  });

  it('never keeps alive more often than the power mode allows', () => {
    expect(wantedKeepalive({ configuredMs: 60_000, advice: advice(1_140_000), mode: POWER_SAVING })).toEqual({
      seconds: 3600,
      source: 'power-mode',
    });
    expect(wantedKeepalive({ configuredMs: 60_000, advice: advice(7_200_000), mode: POWER_SAVING })).toEqual({
      seconds: 7200,
      source: 'advice',
    });
  });

  it('stays within what MQTT can say', () => {
    expect(keepaliveSeconds(1000)).toBe(10);
    expect(keepaliveSeconds(168 * 3_600_000)).toBe(65_535);
    expect(
      wantedKeepalive({ configuredMs: 60_000, advice: advice(168 * 3_600_000, 'probe'), mode: NORMAL }),
    ).toEqual({
      seconds: 65_535,
      source: 'advice',
    });
  });
});

describe('keepaliveInForce', () => {
  it('is the Server Keep Alive when the broker sent one, else what was asked', () => {
    const asked = { seconds: 1140, source: 'advice' } as const;
    expect(keepaliveInForce(asked, undefined)).toEqual(asked);
    expect(keepaliveInForce(asked, 60)).toEqual({ seconds: 60, source: 'broker' });
  });
});

describe('renewalWanted', () => {
  const inForce = { seconds: 1140, source: 'advice' } as const;

  it('renews for any shorter keep-alive: the path may drop the session before the next ping', () => {
    expect(renewalWanted(inForce, { seconds: 300, source: 'advice' }, POWER_SAVING)).toBe(true);
  });

  it('renews for a longer one only past the mode’s change threshold', () => {
    expect(renewalWanted(inForce, { seconds: 1200, source: 'advice' }, NORMAL)).toBe(true);
    expect(renewalWanted(inForce, { seconds: 1200, source: 'advice' }, POWER_SAVING)).toBe(false);
    expect(renewalWanted(inForce, { seconds: 1140 + 1800, source: 'advice' }, POWER_SAVING)).toBe(true);
    expect(renewalWanted(inForce, inForce, NORMAL)).toBe(false);
  });

  it('does not ask a broker that imposed its keep-alive for a longer one', () => {
    const imposed = { seconds: 60, source: 'broker' } as const;
    expect(renewalWanted(imposed, { seconds: 1140, source: 'advice' }, NORMAL)).toBe(false);
    expect(renewalWanted(imposed, { seconds: 30, source: 'advice' }, NORMAL)).toBe(true);
  });
});
