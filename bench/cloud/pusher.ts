/**
 * Drives pushes through the cloud's HTTP API (POST /api/v1/gateways/:id/push) at a steady
 * rate, as an application would, and times each from request to answer: the API, the push
 * line, the simulated gateway's ack and back.
 */

/** Where one push goes. */
export interface PushTarget {
  apiUrl: string;
  apiToken: string;
  gatewayId: string;
}

export interface PushRun {
  sent: number;
  latenciesMs: number[];
  failed: number;
  /** The first few failures, for the report. */
  failures: string[];
}

const KEPT_FAILURES = 5;
/** Twice the cloud's push deadline (30 s): an answer later than this is a failure of the API. */
const ANSWER_TIMEOUT_MS = 60_000;

async function pushOnce(target: PushTarget, n: number): Promise<{ ms: number; error: string | null }> {
  const started = performance.now();
  try {
    const res = await fetch(`${target.apiUrl}/api/v1/gateways/${target.gatewayId}/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${target.apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'bench', payload: { n } }),
      signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
    });
    const body = (await res.json()) as { delivered?: boolean; reason?: string };
    const ms = performance.now() - started;
    if (res.status === 200 && body.delivered) return { ms, error: null };
    return { ms, error: `${target.gatewayId}: HTTP ${res.status} ${body.reason ?? JSON.stringify(body)}` };
  } catch (error) {
    return { ms: performance.now() - started, error: `${target.gatewayId}: ${(error as Error).message}` };
  }
}

/** Sends `perSecond` pushes a second for `durationMs` to `pick()`'s gateways; waits for every answer. */
export async function drivePushes(
  perSecond: number,
  durationMs: number,
  pick: () => PushTarget,
): Promise<PushRun> {
  const run: PushRun = { sent: 0, latenciesMs: [], failed: 0, failures: [] };
  const inFlight: Promise<void>[] = [];
  if (perSecond <= 0) return run;
  const gapMs = 1000 / perSecond;
  const start = performance.now();
  // Paced against the start, so a late timer sends what is due instead of drifting.
  while (performance.now() - start < durationMs) {
    const due = Math.floor((performance.now() - start) / gapMs) + 1;
    while (run.sent < due) {
      const n = run.sent++;
      inFlight.push(
        pushOnce(pick(), n).then(({ ms, error }) => {
          run.latenciesMs.push(ms);
          if (error === null) return;
          run.failed++;
          if (run.failures.length < KEPT_FAILURES) run.failures.push(error);
        }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, gapMs / 2)));
  }
  await Promise.all(inFlight);
  return run;
}
