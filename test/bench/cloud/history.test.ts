import { describe, expect, it } from 'vitest';
import { simGateway } from '../../../bench/cloud/fleet-plan.ts';
import { fillHistory, fleetLog, GatewayHistory, surveyGateway } from '../../../bench/cloud/history.ts';
import { foldRecords } from '../../../src/cloud/learning/evidence.ts';
import { DEFAULT_LEARNING_CONFIG } from '../../../src/cloud/learning/learning-config.ts';
import { SqliteLearningStore } from '../../../src/cloud/status/sqlite-learning-store.ts';

const HOUR_MS = 3_600_000;
const now = Date.UTC(2026, 0, 8);
const options = { now, days: 1, keepaliveMs: 50_000, lines: 2, seed: 7 };
const keepAll = { learning: DEFAULT_LEARNING_CONFIG, keepMs: 7 * 24 * HOUR_MS, maxPerGateway: 1_000_000 };

describe('bench:cloud simulated history', () => {
  it('keeps each line alive after the interval of idle and pushes on the freshest line, in time order', () => {
    const history = new GatewayHistory(simGateway(0, 's', 3), options);
    const records = history.recordsBefore(now);
    const times = records.map((r) => r.time);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times.every((t) => t >= now - 24 * HOUR_MS && t < now)).toBe(true);
    const keepalives = records.filter((r) => r.dataType === 'keepalive');
    const pushes = records.filter((r) => r.dataType === 'push');
    // Two lines, one keep-alive per 50 s of idle each, fewer where a push reset the idle time.
    expect(keepalives.length).toBeGreaterThan(3300);
    expect(keepalives.length).toBeLessThanOrEqual((2 * (24 * 3600)) / 50);
    expect(keepalives.every((r) => r.idleBeforeMs >= 50_000 && r.idleBeforeMs <= 50_200)).toBe(true);
    expect(records.every((r) => Number.isInteger(r.time))).toBe(true);
    // One push per 20 min on average: a day holds about 72.
    expect(pushes.length).toBeGreaterThan(40);
    expect(pushes.length).toBeLessThan(110);
    expect(pushes.every((r) => r.idleBeforeMs <= 50_200)).toBe(true);
    expect(records.every((r) => r.status === 'OK' && r.gatewayId === 'gw-00000')).toBe(true);
    expect(new Set(records.map((r) => r.connectionId))).toEqual(new Set(['line-0', 'line-1']));
    const ages = records.filter((r) => r.connectionId === 'line-0').map((r) => r.connectionAgeMs);
    expect(ages).toEqual([...ages].sort((a, b) => a - b));
  });

  it('continues where it stopped: slices add up to the whole, and a seed replays the same log', () => {
    const whole = new GatewayHistory(simGateway(3, 's', 3), options).recordsBefore(now);
    const sliced = new GatewayHistory(simGateway(3, 's', 3), options);
    const parts = [now - 20 * HOUR_MS, now - HOUR_MS, now].flatMap((t) => sliced.recordsBefore(t));
    expect(parts).toEqual(whole);
  });

  it('interleaves the gateways in time, as a live cloud writes them', () => {
    const fleet = [0, 1, 2].map((i) =>
      surveyGateway(simGateway(i, 's', 3), { ...options, days: 0.1 }, keepAll),
    );
    const all = [...fleetLog(fleet, { ...options, days: 0.1 })].flat();
    expect(all.map((r) => r.time)).toEqual([...all.map((r) => r.time)].sort((a, b) => a - b));
    const firstHundred = new Set(all.slice(0, 100).map((r) => r.gatewayId));
    expect(firstHundred.size).toBe(3);
  });

  it('folds the whole week into the evidence but keeps only the log the retention job would', () => {
    const week = { ...options, days: 3 };
    const gateway = simGateway(5, 's', 3);
    const whole = new GatewayHistory(gateway, week).recordsBefore(now);
    const kept = { ...keepAll, maxPerGateway: 4000 };
    const survey = surveyGateway(gateway, week, kept);
    expect(survey.evidence).toEqual(foldRecords(null, whole, { config: DEFAULT_LEARNING_CONFIG }));
    expect([...fleetLog([survey], week)].flat()).toEqual(whole.slice(-4000));
    const recentOnly = surveyGateway(gateway, week, { ...keepAll, keepMs: 30 * HOUR_MS });
    expect([...fleetLog([recentOnly], week)].flat()).toEqual(
      whole.filter((r) => r.time >= now - 30 * HOUR_MS),
    );
  });

  it('writes identities, logs and their evidence into the cloud’s store, where the cloud reads them back', async () => {
    const store = new SqliteLearningStore(':memory:');
    const fleet = [0, 1, 2, 3].map((i) => simGateway(i, 's', 3));
    const written = await fillHistory(store, fleet, { ...options, days: 0.05 }, keepAll);
    const recent = await store.recent('gw-00001', now - HOUR_MS, 10_000);
    expect(recent.length).toBeGreaterThan(100);
    expect(recent.at(-1)?.time).toBeLessThan(now);
    const site = (await store.gateway('gw-00000'))?.siteKey ?? '';
    const members = await store.siteMembers(site);
    expect(members.map((g) => g.gatewayId)).toEqual(['gw-00000', 'gw-00001', 'gw-00002']);
    expect(members.every((m) => (m.evidence?.good.length ?? 0) > 0)).toBe(true);
    expect((await store.gateway('gw-00003'))?.domain).toBe('site-00001.example');
    expect(written).toBeGreaterThan(4 * 100);
    await store.close();
  });
});
