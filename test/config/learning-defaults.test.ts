import { describe, expect, it } from 'vitest';
import * as learning from '../../src/cloud/learning/learning-config.ts';
import { parseCloudConfig } from '../../src/config/cloud-config.ts';
import { PROBE_ACK_TIMEOUT_MS } from '../../src/config/learning-defaults.ts';

describe("the cloud config's learning defaults", () => {
  it('are the learning constants, not literals of their own', () => {
    const { keepalive } = parseCloudConfig({ api: { token: 'a'.repeat(32) }, store: { path: ':memory:' } });
    expect(keepalive).toMatchObject({
      default: learning.DEFAULT_INTERVAL_MS,
      min: learning.MIN_INTERVAL_MS,
      max: learning.MAX_INTERVAL_MS,
      margin: learning.MARGIN_FRACTION,
      window: learning.WINDOW_MS,
      evidenceFloor: learning.EVIDENCE_FLOOR_MS,
      domainAgreeing: learning.DOMAIN_MIN_AGREEING,
      probeTolerance: learning.PROBE_TOLERANCE_FRACTION,
      probeAckTimeout: PROBE_ACK_TIMEOUT_MS,
    });
  });

  it('wait a round trip for a probe, not the push deadline (a 7 s proxy must not cost 10 s a probe)', () => {
    const config = parseCloudConfig({ api: { token: 'a'.repeat(32) }, store: { path: ':memory:' } });
    expect(config.keepalive.probeAckTimeout).toBe(3_000);
    expect(config.keepalive.probeAckTimeout).toBeLessThan(config.push.ackTimeout);
  });
});
