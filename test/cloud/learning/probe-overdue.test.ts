import { describe, expect, it } from 'vitest';
import { probeOverdueMs } from '../../../src/cloud/learning/probe-overdue.ts';

const ACK_TIMEOUT_MS = 3000;

describe('probeOverdueMs', () => {
  it('waits for the whole answer wait while no answer has shown what the link takes', () => {
    expect(probeOverdueMs(null, ACK_TIMEOUT_MS)).toBeNull();
  });

  it('is four times the slowest answer seen, never under 1 s', () => {
    expect(probeOverdueMs(0, ACK_TIMEOUT_MS)).toBe(1000);
    expect(probeOverdueMs(120, ACK_TIMEOUT_MS)).toBe(1000);
    expect(probeOverdueMs(600, ACK_TIMEOUT_MS)).toBe(2400);
  });

  it('is no earlier warning on a link slow enough that the answer wait comes first', () => {
    expect(probeOverdueMs(750, ACK_TIMEOUT_MS)).toBeNull();
    expect(probeOverdueMs(2000, ACK_TIMEOUT_MS)).toBeNull();
  });
});
