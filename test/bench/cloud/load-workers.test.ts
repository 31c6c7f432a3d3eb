import { describe, expect, it } from 'vitest';
import { mergeFleetStats } from '../../../bench/cloud/load-workers.ts';
import { emptyFleetStats } from '../../../bench/cloud/sim-gateway.ts';

describe('bench:cloud load worker reports', () => {
  it('adds up the workers’ counters and joins their samples', () => {
    const a = { ...emptyFleetStats(), keepaliveAnswerMs: [1, 2], keepalivesSent: 2, unanswered: 1 };
    const b = { ...emptyFleetStats(), keepaliveAnswerMs: [3], keepalivesSent: 1, pushesAcked: 4 };
    expect(mergeFleetStats([a, b])).toEqual({
      ...emptyFleetStats(),
      keepaliveAnswerMs: [1, 2, 3],
      keepalivesSent: 3,
      unanswered: 1,
      pushesAcked: 4,
    });
    expect(mergeFleetStats([])).toEqual(emptyFleetStats());
  });
});
