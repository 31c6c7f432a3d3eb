import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deriveBounds, type EvidenceRecord, foldRecords } from '../../../src/cloud/learning/evidence.ts';
import { adviceFromBounds } from '../../../src/cloud/learning/interval-decision.ts';
import { DEFAULT_LEARNING_CONFIG } from '../../../src/cloud/learning/learning-config.ts';
import type { LineRole } from '../../../src/cloud/learning/status-record.ts';
import { LogBuilder, SECOND, T0 } from './record-factory.ts';

/**
 * A middlebox with a lifetime cap far below its idle timeout (sim firewall: idle 60 s, cap 6 s),
 * as the chain of test/integration/learning-evidence.test.ts sees it. Probe lines reused for a
 * second probe die at the cap with an idle gap about half their age, too long a share of it to
 * pin the age (LIFETIME_MAX_IDLE_FRACTION), so they are idle deaths until the cap is found, from
 * push lines keeping alive often enough. Once found, the cap explains every death at its age.
 */
const CONFIG = { ...DEFAULT_LEARNING_CONFIG, minIntervalMs: 200, evidenceFloorMs: 100 };
const CAP_MS = 6000;

let session = 0;
/** A probe line's death at the cap: idle `gapMs` before the probe, `ageMs` old. */
function probeDeath(log: LogBuilder, gapMs: number, ageMs: number): LogBuilder {
  session++;
  return log.wait(2 * SECOND).ng(gapMs, {
    time: log.now + 2 * SECOND,
    connectionId: `probe-${session}`,
    sessionId: `p${session}`,
    role: 'probe',
    dataType: 'probe',
    connectionAgeMs: ageMs,
  });
}

/** A push line keeping alive every `gapMs`, found dead at its first keep-alive past the cap. */
function pushDeath(log: LogBuilder, gapMs: number, ageMs: number): LogBuilder {
  session++;
  return log.ng(gapMs, {
    time: log.now + 10 * SECOND,
    connectionId: `line-${session}`,
    sessionId: `l${session}`,
    failure: 'keepalive-timeout',
    connectionAgeMs: ageMs,
  });
}

/** Young probe lines succeed at these gaps (their age is about their gap). */
function youngProbes(log: LogBuilder, gaps: readonly number[]): LogBuilder {
  for (const gap of gaps)
    log.ok(gap, {
      time: log.now + SECOND,
      connectionId: 'probe-young',
      role: 'probe',
      dataType: 'probe',
      connectionAgeMs: gap + 10,
    });
  return log;
}

/** Cap deaths the cap detector cannot use (gap ≈ half the age), then push-line deaths it can. */
function cappedSite(probeDeaths: number): LogBuilder {
  const log = youngProbes(new LogBuilder(), [2900, 4100, 5400, 5700]);
  probeDeath(log, 2921, 6342);
  for (let i = 1; i < probeDeaths; i++) probeDeath(log, 2981 + 60 * i, 6659 + 80 * (i % 20));
  // The probes narrow below the false U, on young lines again (no leniency: all below it).
  youngProbes(log, [1500, 2000, 2500, 2800]);
  for (const age of [7479, 6777, 7100, 7300]) pushDeath(log, 1500, age);
  return log;
}

describe('deaths at a lifetime cap far below the idle timeout', () => {
  it('never set U once the cap is found, while they are remembered one by one', () => {
    const log = cappedSite(4);
    const bounds = deriveBounds(log.records, log.now, CONFIG);
    expect(bounds.lifetimeCapMs).not.toBeNull();
    expect(bounds.lifetimeCapMs).toBeLessThanOrEqual(CAP_MS);
    expect(bounds.upperMs).toBeNull();
  });

  it('never set U once the cap is found, after they left the death memory (24)', () => {
    // 30 probe deaths: the first ones leave the memory before the push lines reveal the cap.
    const log = cappedSite(30);
    const bounds = deriveBounds(log.records, log.now, CONFIG);
    expect(bounds.lifetimeCapMs).not.toBeNull();
    expect(bounds.lifetimeCapMs).toBeLessThanOrEqual(CAP_MS);
    expect(bounds.upperMs).toBeNull();
    const advice = adviceFromBounds({ ...bounds, lowerFromDomain: false }, CONFIG);
    expect(advice.intervalMs).toBeGreaterThanOrEqual(5 * SECOND);
  });

  it('the cap stays after its own deaths left the memory, until a line outlives it', () => {
    const log = cappedSite(4);
    // Probe lines reused past the cap keep dying at it (gap about half the age): cap deaths,
    // none of them usable to find the cap again, enough to push the push lines' deaths out.
    for (let i = 0; i < 30; i++) probeDeath(log, 3000 + 10 * i, 6500 + 50 * (i % 30));
    const bounds = deriveBounds(log.records, log.now, CONFIG);
    expect(bounds.lifetimeCapMs).not.toBeNull();
    expect(bounds.upperMs).toBeNull();
    // A line that lives well past it refutes it: what it explained is idleness again.
    log.ok(2000, { time: log.now + SECOND, connectionId: 'line-old', connectionAgeMs: 9 * SECOND });
    const refuted = deriveBounds(log.records, log.now, CONFIG);
    expect(refuted.lifetimeCapMs).toBeNull();
    expect(refuted.upperMs).not.toBeNull();
  });
});

type FixtureRow = [number, string, LineRole, string, 'OK' | 'NG', string | null, number, number, string];

/** The status log a real chain wrote on main at 25d5d04 (fixtures/cap-6s-idle-60s.json says how). */
function recordedLog(): EvidenceRecord[] {
  const rows = (
    JSON.parse(readFileSync(new URL('./fixtures/cap-6s-idle-60s.json', import.meta.url), 'utf8')) as {
      records: FixtureRow[];
    }
  ).records;
  return rows.map(
    ([t, connectionId, role, dataType, status, failure, idleBeforeMs, connectionAgeMs, sessionId]) => ({
      time: T0 + t,
      gatewayId: 'gw1',
      clientId: 'gw1-client',
      connectionId,
      role,
      dataType: dataType as EvidenceRecord['dataType'],
      status,
      ...(failure === null ? {} : { failure: failure as EvidenceRecord['failure'] }),
      idleBeforeMs,
      connectionAgeMs,
      policyLimited: false,
      sessionId,
    }),
  );
}

describe('the log of a real chain (sim firewall idle 60 s, cap 6 s)', () => {
  it('ends with the cap found and no U: the 2.9 s cap death that left the death memory is explained', () => {
    const records = recordedLog();
    const end = (records.at(-1) as EvidenceRecord).time;
    const evidence = foldRecords(null, records, { config: CONFIG });
    // The death main kept as U (2921 ms idle at age 6342 ms) did leave the death list.
    expect(evidence.deaths.some((d) => d.gapMs === 2921)).toBe(false);
    expect(evidence.settled.some((m) => m.gapMs === 2921)).toBe(true);
    const bounds = deriveBounds(records, end, CONFIG);
    expect(bounds.lifetimeCapMs).toBeLessThanOrEqual(CAP_MS);
    expect(bounds.upperMs).toBeNull();
    expect(adviceFromBounds({ ...bounds, lowerFromDomain: false }, CONFIG).converged).toBe(false);
  });
});
