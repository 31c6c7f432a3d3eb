/**
 * A load worker of bench:cloud (a child process): holds the simulated gateways of a range
 * of indexes, one fleet toward the cloud and one toward the bare ws reference, and reports
 * what they measured. Driven by the bench over IPC (worker-protocol.ts).
 */
import { nodeOf, type SimGatewayIdentity, simGateway } from './fleet-plan.ts';
import { watchLoopLag } from './loop-lag.ts';
import { emptyFleetStats, type FleetContext, type FleetStats, SimGateway } from './sim-gateway.ts';
import type { FromWorker, Target, ToWorker, WorkerSetup } from './worker-protocol.ts';

let setup: WorkerSetup | undefined;
const fleets = new Map<Target, SimGateway[]>();
const stats: Record<Target, FleetStats> = { cloud: emptyFleetStats(), ref: emptyFleetStats() };
const lag = watchLoopLag();

/** A counting semaphore: at most `limit` handshakes in flight, the rest wait in order. */
function limiter(limit: number): () => Promise<() => void> {
  let running = 0;
  const waiting: Array<() => void> = [];
  const release = () => {
    running--;
    waiting.shift()?.();
  };
  return () =>
    new Promise((resolve) => {
      const go = () => {
        running++;
        resolve(release);
      };
      if (running < limit) go();
      else waiting.push(go);
    });
}

function send(message: FromWorker): void {
  process.send?.(message);
}

async function connect(target: Target, urls: string[]): Promise<void> {
  const s = setup as WorkerSetup;
  const fleet: FleetContext = {
    urlOf: (g: SimGatewayIdentity) => urls[nodeOf(g.index, urls.length, s.siteSize)] as string,
    stats: () => stats[target],
    admit: limiter(s.openConcurrency),
    defaultKeepaliveMs: s.defaultKeepaliveMs,
    answerTimeoutMs: s.answerTimeoutMs,
  };
  const gateways: SimGateway[] = [];
  for (let i = s.from; i < s.to; i++) {
    gateways.push(new SimGateway(simGateway(i, s.runSecret, s.siteSize), s.linesPerGateway, fleet));
  }
  fleets.set(target, gateways);
  await Promise.all(gateways.map((g) => g.start()));
  send({ type: 'connected', target });
}

process.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'setup':
      setup = message;
      break;
    case 'connect':
      void connect(message.target, message.urls);
      break;
    case 'reset':
      stats.cloud = emptyFleetStats();
      stats.ref = emptyFleetStats();
      lag.reset();
      break;
    case 'report': {
      const intervals = (target: Target) => (fleets.get(target) ?? []).flatMap((g) => g.openIntervals());
      send({
        type: 'report',
        stats,
        intervalsMs: { cloud: intervals('cloud'), ref: intervals('ref') },
        lagMaxMs: lag.maxMs(),
      });
      break;
    }
    case 'stop':
      for (const gateways of fleets.values()) for (const g of gateways) g.stop();
      process.disconnect();
      break;
  }
});
process.on('disconnect', () => process.exit(0));
