import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import type { ProbeAssignment, ProbeLineView } from '../../../src/cloud/learning/probe-planner.ts';
import type { CloudLine, ExchangeOutcome } from '../../../src/cloud/push/cloud-line.ts';
import { ProbeRunner } from '../../../src/cloud/push/probe-runner.ts';
import { silentLogger } from '../../../src/log/logger.ts';

const ACK_TIMEOUT_MS = 3000;

/** A probe line as the runner sees it: answers probes after `answerMs`, or never (silent). */
class FakeProbeLine {
  readonly gatewayId = 'gw1';
  isOpen = true;
  lastPacketAt: number;
  answerMs: number | null = 0;
  readonly connectionId: string;
  private readonly clock: ManualClock;
  constructor(clock: ManualClock, connectionId: string) {
    this.clock = clock;
    this.connectionId = connectionId;
    this.lastPacketAt = clock.now();
  }
  idleMs(): number {
    return this.clock.now() - this.lastPacketAt;
  }
  exchange(_key: string, _message: unknown, ackTimeoutMs: number): Promise<ExchangeOutcome> {
    const at = this.clock.now();
    const idleBeforeMs = at - this.lastPacketAt;
    this.lastPacketAt = at;
    return new Promise((resolve) => {
      if (this.answerMs === null)
        this.clock.setTimeout(
          () => resolve({ ok: false, failure: 'ack-timeout', idleBeforeMs, ageMs: 0, at }),
          ackTimeoutMs,
        );
      else this.clock.setTimeout(() => resolve({ ok: true, idleBeforeMs, ageMs: 0, at }), this.answerMs);
    });
  }
  terminate(): void {
    this.isOpen = false;
  }
}

/** Lets the runner's promises and setImmediate callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A runner over fake probe lines a, b and c, whose planner gives each line the gap in `gaps`
 * (by line id) every time; records which lines it reopened, and when (ms from the start).
 */
function setUp(gaps: Record<string, number>) {
  const clock = new ManualClock();
  const start = clock.now();
  const lines = ['a', 'b', 'c'].map((id) => new FakeProbeLine(clock, id));
  const reopened: Array<{ id: string; at: number; cause: string }> = [];
  const runner = new ProbeRunner({
    clock,
    logger: silentLogger(),
    ackTimeoutMs: ACK_TIMEOUT_MS,
    linesOf: () => lines.filter((l) => l.isOpen) as unknown as CloudLine[],
    plan: async (_gw, views: readonly ProbeLineView[]): Promise<ProbeAssignment[]> =>
      views.flatMap((v) => (gaps[v.id] === undefined ? [] : [{ id: v.id, gapMs: gaps[v.id] as number }])),
    onOutcome: async () => {},
    onReopen: (line, cause) => {
      reopened.push({ id: line.connectionId, at: clock.now() - start, cause });
      (line as unknown as FakeProbeLine).isOpen = false;
    },
    onDone: () => {},
  });
  const [a, b, c] = lines as [FakeProbeLine, FakeProbeLine, FakeProbeLine];
  /** Advances the clock in steps of 100 ms up to `offsetMs`, letting the runner act at each. */
  const runTo = async (offsetMs: number) => {
    while (clock.now() - start < offsetMs) {
      clock.advance(Math.min(100, offsetMs - (clock.now() - start)));
      await settle();
      await settle();
    }
  };
  runner.track(a as unknown as CloudLine);
  return { a, b, c, reopened, runTo };
}

describe('ProbeRunner: an overdue probe', () => {
  it('reopens the lines idle as long as its gap at once, without waiting for the answer wait', async () => {
    const { a, b, reopened, runTo } = setUp({ a: 5000, b: 9000, c: 20_000 });
    // a's probe at 5 s is answered in 100 ms: the link answers fast, so 1 s unanswered is overdue.
    a.answerMs = 100;
    b.answerMs = null;
    await runTo(9900);
    expect(reopened).toEqual([]);
    // b's probe at 9 s is overdue at 10 s: c, idle 10 s and waiting for 20 s, would fail with it.
    await runTo(10_300);
    expect(reopened).toEqual([{ id: 'c', at: 10_000, cause: 'overdue-probe' }]);
  });

  it('waits for the whole answer wait while no probe has been answered yet', async () => {
    const { a, reopened, runTo } = setUp({ a: 9000, b: 20_000, c: 25_000 });
    a.answerMs = null;
    await runTo(11_900);
    expect(reopened).toEqual([]);
  });

  it('is judged by the slowest answer seen: a slow link gets no early reopen', async () => {
    const { a, b, reopened, runTo } = setUp({ a: 5000, b: 9000, c: 20_000 });
    // 800 ms for an answer: four times that is past the 3 s answer wait.
    a.answerMs = 800;
    b.answerMs = null;
    await runTo(11_900);
    expect(reopened).toEqual([]);
  });
});
