import { describe, expect, it } from 'vitest';
import {
  type HealthInputs,
  healthVerdict,
  spokenDuration,
} from '../../../src/gateway/status/health-verdict.ts';
import type { Advice } from '../../../src/protocol/messages.ts';
import { line } from './page-harness.ts';

const learned: Advice = {
  intervalMs: 18_700,
  source: 'probe',
  basis: 'longest-good-gap',
  mcvtMs: null,
  lowerBoundMs: 19_700,
  upperBoundMs: 20_500,
  lifetimeCapMs: null,
  reconnectBeforeAgeMs: null,
  converged: true,
};

const inputs = (extra: Partial<HealthInputs> = {}): HealthInputs => ({
  lines: [line('line-0', 'open'), line('line-1', 'open')],
  advice: learned,
  effectiveMs: 19_000,
  limitedByPolicy: false,
  powerMode: 'normal',
  probing: false,
  mqtt: null,
  adviceWarning: null,
  ...extra,
});

const headline = (v: ReturnType<typeof healthVerdict>) => v.headline.map((p) => p.text).join(' · ');

describe('the health verdict', () => {
  it('is ok when every push line is up and the timeout is learned', () => {
    const v = healthVerdict(inputs());
    expect(v.state).toBe('ok');
    expect(headline(v)).toBe('Connected · firewall forgets idle lines after ≈20 s · keep-alive every 19 s');
    expect(v.notes).toEqual([]);
  });

  it('is disconnected with no push line up, whatever the probe line does, and says why', () => {
    const v = healthVerdict(
      inputs({
        lines: [
          line('line-0', 'waiting', { lastError: 'connect ECONNREFUSED' }),
          line('line-1', 'connecting'),
          line('probe', 'open'),
        ],
      }),
    );
    expect(v.state).toBe('disconnected');
    expect(headline(v)).toBe('Not connected to the cloud');
    expect(v.notes.map((n) => n.text).join('\n')).toContain('Last error: connect ECONNREFUSED');
  });

  it('names a refused token', () => {
    const v = healthVerdict(
      inputs({ lines: [line('line-0', 'auth-failed'), line('line-1', 'auth-failed')] }),
    );
    expect(v.notes[0]?.text).toContain('check cloud.token');
  });

  it('is learning while not converged or probing; the probe’s cuts are called planned', () => {
    const notConverged = healthVerdict(
      inputs({ advice: { ...learned, lowerBoundMs: 10_000, converged: false } }),
    );
    expect(notConverged.state).toBe('learning');
    expect(headline(notConverged)).toContain('after 10 s to 21 s (narrowing down)');
    const probing = healthVerdict(inputs({ probing: true }));
    expect(probing.state).toBe('learning');
    expect(probing.notes[0]?.text).toContain('planned, not an outage');
    expect(healthVerdict(inputs({ advice: null })).state).toBe('learning');
  });

  it('is degraded with a push line down, MQTT down or a warning on the advice', () => {
    const lineDown = healthVerdict(inputs({ lines: [line('line-0', 'open'), line('line-1', 'waiting')] }));
    expect(lineDown.state).toBe('degraded');
    expect(headline(lineDown)).toMatch(/^Connected on 1 of 2 lines · /);
    expect(healthVerdict(inputs({ mqtt: { broker: 'mqtts://b:8883', connected: false } })).state).toBe(
      'degraded',
    );
    const warned = healthVerdict(inputs({ adviceWarning: 'lower the cloud’s keepalive.min' }));
    expect(warned.state).toBe('degraded');
    expect(warned.notes[0]?.text).toBe('lower the cloud’s keepalive.min');
  });

  it('says when the power policy sets the interval', () => {
    const v = healthVerdict(
      inputs({ effectiveMs: 3_600_000, limitedByPolicy: true, powerMode: 'power-saving' }),
    );
    expect(headline(v)).toContain('keep-alive every 60 min (power mode power-saving)');
  });

  it('speaks durations as the page writes them', () => {
    expect([1500, 19_000, 125_000, 7_200_000, 3 * 86_400_000].map(spokenDuration)).toEqual([
      '1.5 s',
      '19 s',
      '2 min 5 s',
      '2 h',
      '3 d 0 h',
    ]);
  });
});
