import { describe, expect, it } from 'vitest';
import { startCli } from '../support/cli-process.ts';

const said = (pattern: RegExp) => (l: { msg?: string }) => typeof l.msg === 'string' && pattern.test(l.msg);

describe('mfp-gateway demo', () => {
  it('tells the learning as +mm:ss milestones, prints two jobs (one switched to direct) and one summary', {
    timeout: 180_000,
  }, async () => {
    // The 20 s firewall a user sees: learned in about 35 s with the cloud's probe lines.
    const demo = startCli(['demo', '--push-every', '2s']);
    await demo.waitFor(said(/^mfp-gateway demo: .* idle for 20 s \(silently\)/), 20_000, 'the banner');
    await demo.waitFor(
      said(/^\+00:\d\d push lines up; keep-alive every 5 s until the cloud has learned/),
      20_000,
      'the interval in use at the start',
    );
    await demo.waitFor(
      said(/^\+\d\d:\d\d first failure: a line idle for [\d.]+ s died/),
      60_000,
      'the first failure',
    );
    await demo.waitFor(
      said(/^\+\d\d:\d\d timeout between [\d.]+ s and [\d.]+ s → keep-alive every [\d.]+ s$/),
      60_000,
      'bounds',
    );
    await demo.waitFor(said(/^\+\d\d:\d\d job A: switched to direct after [\d.]+ MB/), 60_000, 'the switch');
    await demo.waitFor(said(/^\+\d\d:\d\d job B: printed \(2 MB through the tunnel\)/), 60_000, 'job B');
    const finished = await demo.waitFor(
      said(/^\+\d\d:\d\d probe finished: timeout between [\d.]+ s and [\d.]+ s → keep-alive [\d.]+ s$/),
      120_000,
      'the probe’s end',
    );
    expect(demo.lines.filter(said(/probe finished/))).toEqual([finished]);

    // Ctrl-C: one summary, then the demo exits 0.
    expect(await demo.stop('SIGINT')).toBe(0);
    const text = demo.lines.map((l) => l.msg ?? '');
    const from = text.findIndex((l) => /^summary after \d\d:\d\d/.test(l));
    expect(from).toBeGreaterThan(0);
    expect(text.slice(from + 1, from + 6).map((l) => l.trim())).toEqual([
      expect.stringMatching(/^firewall timeout {2}between [\d.]+ s and [\d.]+ s$/),
      expect.stringMatching(/^keep-alive {8}every [\d.]+ s \(started at 5 s\); learned in \d\d:\d\d/),
      expect.stringMatching(/^pushes {12}[1-9]\d* delivered, 0 failed$/),
      expect.stringMatching(
        /^print job A done: [\d.]+ MB through the tunnel \+ [\d.]+ MB direct, byte-exact$/,
      ),
      'print job B done: 2 MB through the tunnel, byte-exact',
    ]);
    expect(text.filter((l) => /^summary/.test(l))).toHaveLength(1);
    // The story only: no MQTT traffic, no power-mode flipping, one push told (the rest counted).
    expect(text.filter((l) => /mqtt|power mode/.test(l))).toEqual([]);
    expect(text.filter((l) => /push \d+ delivered/.test(l))).toHaveLength(1);
    expect(demo.stderr()).toBe('');
  });

  it('with --verbose also shows every push and the MQTT traffic; --duration stops it by itself', {
    timeout: 60_000,
  }, async () => {
    const demo = startCli([
      'demo',
      '--firewall-idle',
      '3s',
      '--push-every',
      '1s',
      '--duration',
      '8s',
      '--verbose',
      '--no-jobs',
    ]);
    expect(await demo.exited()).toBe(0);
    const text = demo.lines.map((l) => l.msg ?? '');
    expect(text).toContainEqual(
      expect.stringMatching(/^\+00:\d\d mqtt mfpgw\/demo-office\/availability: online$/),
    );
    expect(text.filter((l) => /^\+00:\d\d push \d+ delivered/.test(l)).length).toBeGreaterThan(1);
    expect(text.at(-1)).toMatch(/^demo stopped; pushes delivered [1-9]\d*, failed 0$/);
    expect(demo.stderr()).toBe('');
  });
});
