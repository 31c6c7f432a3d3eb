import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/lifecycle/event-bus.ts';
import { type Feature, startFeatures } from '../../src/lifecycle/feature.ts';
import { capturedLogs } from '../support/captured-logs.ts';

function feature(name: string, steps: string[], fail: { start?: boolean; stop?: boolean } = {}): Feature {
  return {
    name,
    async start() {
      steps.push(`start ${name}`);
      if (fail.start) throw new Error(`${name} broke`);
    },
    stop() {
      steps.push(`stop ${name}`);
      if (fail.stop) throw new Error(`${name} stuck`);
    },
  };
}

describe('startFeatures', () => {
  it('starts features in order and stops them in reverse', async () => {
    const steps: string[] = [];
    const started = await startFeatures([feature('a', steps), feature('b', steps), feature('c', steps)], {
      logger: capturedLogs().logger,
    });
    await started.stop();
    expect(steps).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  });

  it('runs on past a feature that fails to start or to stop, naming it in the log', async () => {
    const { logger, logs } = capturedLogs();
    const steps: string[] = [];
    const started = await startFeatures(
      [feature('a', steps), feature('b', steps, { start: true, stop: true }), feature('c', steps)],
      { logger },
    );
    await started.stop();
    expect(steps).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
    expect(logs).toMatchObject([
      { feature: 'b', err: 'b broke', msg: 'b cannot start; the rest runs on without it' },
      { feature: 'b', err: 'b stuck', msg: 'b did not stop cleanly' },
    ]);
  });

  it('removes a stopped feature’s bus listeners', async () => {
    const bus = new EventBus<{ ping: undefined }>(capturedLogs().logger);
    const steps: string[] = [];
    const a = feature('a', steps);
    bus.on('a', 'ping', () => steps.push('a heard'));
    const started = await startFeatures([a], { logger: capturedLogs().logger, bus });
    bus.emit('ping');
    await started.stop();
    bus.emit('ping');
    expect(steps).toEqual(['start a', 'a heard', 'stop a']);
  });
});

describe('startFeatures when every feature is needed', () => {
  it('stops what started, in reverse, and rejects with the first failure', async () => {
    const steps: string[] = [];
    const starting = startFeatures(
      [feature('a', steps), feature('b', steps, { start: true }), feature('c', steps)],
      { logger: capturedLogs().logger, allNeeded: true },
    );
    await expect(starting).rejects.toThrow('b broke');
    expect(steps).toEqual(['start a', 'start b', 'stop b', 'stop a']);
  });
});
