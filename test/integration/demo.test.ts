import { describe, expect, it } from 'vitest';
import { startCli } from '../support/cli-process.ts';

describe('mfp-gateway demo', () => {
  it('learns, delivers pushes, shows MQTT traffic and stops cleanly by itself', async () => {
    const demo = startCli(['demo', '--firewall-idle', '3s', '--push-every', '2s', '--duration', '25s']);
    const said = (pattern: RegExp) => (l: { msg?: string }) =>
      typeof l.msg === 'string' && pattern.test(l.msg);
    await demo.waitFor(said(/^demo: cloud on .* forgets connections idle > 3s/), 20_000, 'the demo banner');
    await demo.waitFor(
      said(/^demo: mqtt mfpgw\/demo-office\/availability: online/),
      20_000,
      'the MQTT availability',
    );
    await demo.waitFor(said(/^demo: keep-alive .*source probe/), 30_000, 'advice learned by probing');
    expect(await demo.exited()).toBe(0);
    const last = demo.lines.at(-1)?.msg ?? '';
    expect(last).toMatch(/^demo: stopped; pushes delivered [1-9]\d*, failed 0$/);
    expect(demo.stderr()).toBe('');
  });
});
