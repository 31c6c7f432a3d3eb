import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { KeepaliveAdvisor } from '../advisor/keepalive-advisor.ts';
import type { EventLoopWatch } from '../overload/event-loop-watch.ts';

/**
 * The cloud's Prometheus metrics (GET /api/v1/metrics, behind the API token like the rest of
 * the API), read at scrape time. Overload is what an operator must see first: a cloud that
 * stalls answers late, and late answers look like network failures.
 */
export function registerMetricsApi(
  app: FastifyInstance,
  options: { overload: EventLoopWatch; advisor: Pick<KeepaliveAdvisor, 'gatewaysBelowMin'> },
): void {
  const register = new Registry();
  collectDefaultMetrics({ register, prefix: 'mfpcloud_' });
  const { overload } = options;
  let seenStalls = 0;
  let seenLate = 0;
  new Counter({
    name: 'mfpcloud_event_loop_stalls_total',
    help: 'Times the event loop ran late past the overload threshold (the cloud was overloaded).',
    registers: [register],
    collect() {
      const { stalls } = overload.stats();
      this.inc(stalls - seenStalls);
      seenStalls = stalls;
    },
  });
  new Counter({
    name: 'mfpcloud_cloud_late_losses_total',
    help: 'Lost exchanges recorded as the cloud’s own (it was stalled), so not taken as network evidence.',
    registers: [register],
    collect() {
      const { lateLosses } = overload.stats();
      this.inc(lateLosses - seenLate);
      seenLate = lateLosses;
    },
  });
  new Gauge({
    name: 'mfpcloud_event_loop_stall_max_seconds',
    help: 'Longest event-loop stall since the cloud started.',
    registers: [register],
    collect() {
      this.set(overload.stats().maxLagMs / 1000);
    },
  });
  new Gauge({
    name: 'mfpcloud_event_loop_lag_seconds',
    help: 'How late the event loop runs right now.',
    registers: [register],
    collect() {
      this.set(overload.stats().lagNowMs / 1000);
    },
  });
  new Gauge({
    name: 'mfpcloud_gateways_below_min',
    help: 'Gateways whose lines die after idle gaps shorter than the shortest advice allowed (keepalive.min): lower it.',
    registers: [register],
    collect() {
      this.set(options.advisor.gatewaysBelowMin());
    },
  });
  app.get('/api/v1/metrics', async (_req, reply) => {
    reply.header('content-type', register.contentType);
    return register.metrics();
  });
}
