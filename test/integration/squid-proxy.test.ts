import { describe, expect, it } from 'vitest';
import { type CloudHandle, scratchDir, startCloud, startGatewayProcess } from '../support/chain.ts';
import { type CliProcess, eventually, type LogLine } from '../support/cli-process.ts';
import { startSquid } from '../support/squid.ts';
import { deferredTeardown } from '../support/teardown.ts';

interface GatewayState {
  connections: { id: string; role: string }[];
  keepalive: {
    adviceMs: number;
    source: string;
    lowerBoundMs: number | null;
    upperBoundMs: number | null;
    converged: boolean;
  };
}
interface LogRecord {
  time: string;
  connectionId: string;
  role: string;
  dataType: string;
  status: 'OK' | 'NG';
  idleBeforeMs: number;
}

const SQUID_IDLE_SEC = 3;

/** Learning runs in real time through real middleboxes: allow for a loaded machine. */
const LEARNING_TEST_MS = 240_000;

const defer = deferredTeardown();
const track = <T extends CliProcess>(proc: T): T => {
  defer(() => proc.stop());
  return proc;
};

/** A gateway log line saying one of its push lines died. */
function isPushLineDeath(l: LogLine): boolean {
  return (
    typeof l.line === 'string' &&
    l.line.startsWith('line-') &&
    (l.msg === 'keep-alive unanswered: line is dead, reconnecting' || l.msg === 'line closed')
  );
}

/**
 * Squid (read_timeout idleSec, default SQUID_IDLE_SEC), a cloud (keepalive: settings over the test
 * defaults) and a gateway whose proxy URL carries the given password.
 */
async function chainThroughSquid(
  name: string,
  options: { password?: string; keepalive?: Record<string, unknown>; idleSec?: number } = {},
) {
  const { dir, cleanup } = scratchDir(name);
  defer(cleanup);
  const squid = await startSquid({
    users: { office: 'proxy-pass-1' },
    idleTimeoutSec: options.idleSec ?? SQUID_IDLE_SEC,
  });
  defer(() => squid.stop());
  const cloud = await startCloud(dir, { keepalive: options.keepalive ?? {} });
  track(cloud.proc);
  const gateway = track(
    startGatewayProcess(dir, {
      url: `ws://127.0.0.1:${cloud.port}/push`,
      token: cloud.gatewayToken,
      proxy: squid.proxyUrl('office', options.password),
    }),
  );
  return { squid, cloud, gateway };
}

/** The gateway's learning state once the advice has converged through Squid. */
function converged(cloud: CloudHandle): Promise<GatewayState> {
  return eventually(
    async () => (await cloud.api<GatewayState>('/api/v1/gateways/gw1')).body,
    (s) => s.keepalive.converged,
    200_000,
    'the advice to converge through squid',
    500,
  );
}

describe('push link through a real Squid (authenticating CONNECT proxy, read_timeout kills idle tunnels)', () => {
  it(
    'authenticates, learns the proxy’s idle timeout and delivers pushes',
    async () => {
      const { squid, cloud, gateway } = await chainThroughSquid('squid');

      const state = await converged(cloud);
      // Squid checks read_timeout against a whole-second clock, so a tunnel idle for a little
      // over T − 1 s can already be cut: the safe gap it teaches lies between T − 1 s and T.
      expect(state.keepalive.adviceMs).toBeLessThan(SQUID_IDLE_SEC * 1000);
      expect(state.keepalive.adviceMs).toBeGreaterThan((SQUID_IDLE_SEC - 1) * 1000 * 0.85);
      expect(state.keepalive.upperBoundMs).toBeGreaterThan((SQUID_IDLE_SEC - 1) * 1000);
      const access = await squid.logs();
      expect(access).toMatch(/CONNECT 127\.0\.0\.1:\d+/);
      expect(access).toContain('office');
      for (const gap of [0, 1500, 4000, 6000]) {
        await new Promise((r) => setTimeout(r, gap));
        const res = await cloud.api('/api/v1/gateways/gw1/push', {
          method: 'POST',
          body: JSON.stringify({ type: 'scan-ready', payload: { gap } }),
        });
        expect(res.body, `push after ${gap} ms idle`).toMatchObject({ delivered: true });
      }
      expect(JSON.stringify(gateway.lines)).not.toContain('proxy-pass-1');
      // Several probe lines learned at once (issue 15 item 7). Whether a push line died on the way
      // is the item 6 test's: with the 5 % margin and Squid's one-second tick at 3 s, one may.
      const log = await cloud.api<{
        records: { status: string; dataType: string; connectionId: string; time: string }[];
      }>('/api/v1/gateways/gw1/log?limit=1000');
      const probes = log.body.records.filter((r) => r.dataType === 'probe');
      expect(new Set(probes.map((r) => r.connectionId)).size).toBeGreaterThan(1);
    },
    LEARNING_TEST_MS,
  );

  // Item 6 at the sim firewall test's scale (push-link.test.ts): the shipped default, 25 s, against
  // the shortest timeout it must survive, 30 s, is 2.5 s against 3 s. Squid cuts a line idle
  // anywhere in (T − 1 s, T], so read_timeout 4 s is a 3 s timeout at the least, and a margin of
  // 30 % keeps the advice from a probe that Squid's tick let through up to 4 s under 3 s.
  it(
    'never loses a push line while the probe lines learn, the default being under the timeout (issue 15 item 6)',
    async () => {
      const { cloud, gateway } = await chainThroughSquid('squid-safe-lines', {
        keepalive: { default: '2500ms', margin: '30%' },
        idleSec: 4,
      });
      const state = await converged(cloud);
      // Learned above 3 s; the advice is the default or the probes' L less the margin, whichever
      // is longer (each under 3 s).
      expect(state.keepalive.upperBoundMs).toBeGreaterThan(3000);
      expect(state.keepalive.adviceMs).toBeLessThan(3000);
      expect(gateway.lines.filter((l) => isPushLineDeath(l))).toEqual([]);
      // The probe lines did die: that is how the timeout was learned.
      const log = await cloud.api<{ records: LogRecord[] }>('/api/v1/gateways/gw1/log?limit=1000');
      expect(log.body.records.some((r) => r.role === 'probe' && r.status === 'NG')).toBe(true);
    },
    LEARNING_TEST_MS,
  );

  // Squid forgets no tunnel silently: at read_timeout it closes both legs, so the gateway sees its
  // probe line cut at once and opens it again itself. What must not happen (item 9) is that the
  // learning stops there and falls to the push lines; the silent loss is push-link.test.ts's (this
  // test passes on the code before the item 9 fix too: through Squid the loss was never silent).
  // Squid checks read_timeout once a second, so it cuts a line idle anywhere in (T − 1 s, T]: a gap
  // one probe survived can die on the next line. The margin must cover that tick, as 5 % does for
  // T ≥ 20 s; at this test's 3 s it takes 35 % (with 5 %, a push line died at 2.57 s idle after a
  // probe survived 2.75 s, in 2 runs of 7).
  it(
    'goes on probing after Squid cuts a probe line at its read_timeout, and converges (issue 15 item 9)',
    async () => {
      const { cloud, gateway } = await chainThroughSquid('squid-probe-cut', { keepalive: { margin: '35%' } });
      const records = async () =>
        (await cloud.api<{ records: LogRecord[] }>('/api/v1/gateways/gw1/log?limit=1000')).body.records;
      const probeLineDeaths = (rs: LogRecord[]) =>
        rs
          .filter((r) => r.role === 'probe' && r.status === 'NG')
          .sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
      const cut = probeLineDeaths(
        await eventually(records, (rs) => probeLineDeaths(rs).length > 0, 200_000, 'a probe line cut', 500),
      )[0] as LogRecord;
      // Cut by Squid's idle timeout (on its whole-second clock), not by anything else.
      expect(cut.idleBeforeMs).toBeGreaterThan((SQUID_IDLE_SEC - 1) * 1000);
      const cutAt = Date.parse(cut.time);
      const state = await converged(cloud);
      const all = await records();
      if (!all.some((r) => r.dataType === 'probe' && Date.parse(r.time) > cutAt)) {
        // No probe after the cut: only right if the cut's own round settled L and U (Squid's tick
        // let a probe through just under the gap it cut the others at), not if probing stopped.
        const byThen = all.filter((r) => Date.parse(r.time) <= cutAt + 1000);
        expect(byThen.some((r) => r.status === 'OK' && r.idleBeforeMs === state.keepalive.lowerBoundMs)).toBe(
          true,
        );
        expect(byThen.some((r) => r.status === 'NG' && r.idleBeforeMs === state.keepalive.upperBoundMs)).toBe(
          true,
        );
      }
      expect(state.keepalive.source).toBe('probe');
      expect(state.keepalive.upperBoundMs).toBeGreaterThan((SQUID_IDLE_SEC - 1) * 1000);
      expect(state.keepalive.adviceMs).toBeLessThan(SQUID_IDLE_SEC * 1000);
      // The learning stayed on the probe lines: no push line paid for it.
      expect(gateway.lines.filter((l) => isPushLineDeath(l))).toEqual([]);
    },
    LEARNING_TEST_MS,
  );

  it('gives a clear error on a wrong proxy password and does not storm the proxy', async () => {
    const { gateway } = await chainThroughSquid('squid-bad', { password: 'wrong-password' });
    const refused = await gateway.waitFor(
      (l) => typeof l.msg === 'string' && l.msg.includes('HTTP 407'),
      20_000,
      'a 407 error',
    );
    expect(refused.msg).toContain('check the user and password');
    expect(refused.level).toBe(50);
    // The next try waits the auth-failure delay (5 min by default), not the outage backoff.
    expect(refused.retryInMs).toBe(300_000);
    expect(JSON.stringify(gateway.lines)).not.toContain('wrong-password');
  });
});
