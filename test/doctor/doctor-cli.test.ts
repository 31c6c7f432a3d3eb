import { afterAll, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/doctor/check-result.ts';
import { scratchDir, writeYaml } from '../support/chain.ts';
import { startCli } from '../support/cli-process.ts';

const scratch = scratchDir('doctor-cli');
afterAll(() => scratch.cleanup());

async function doctor(args: string[]) {
  const cli = startCli(['doctor', ...args]);
  const code = await cli.exited();
  return { code, stdout: cli.lines.map((l) => l.msg ?? JSON.stringify(l)).join('\n') };
}

describe('mfp-gateway doctor (the command)', () => {
  const broken = writeYaml(scratch.dir, 'broken.yaml', { gateway: { id: 'gw1' } });

  it('prints one line per check with its fix, and exits 2 when something fails', async () => {
    const run = await doctor(['--config', broken]);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/^FAIL {2}config +\S*broken\.yaml cannot be used/m);
    expect(run.stdout).toMatch(/^ +fix: /m);
    expect(run.stdout).toMatch(/^0 ok, 0 warnings, 1 failed, 1 skipped$/m);
  });

  it('prints the checks as JSON with --json', async () => {
    const cli = startCli(['doctor', '--json', '--config', broken]);
    let out = '';
    cli.child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    expect(await cli.exited()).toBe(2);
    const results = JSON.parse(out) as CheckResult[];
    expect(results.map((r) => [r.check, r.status])).toEqual([
      ['config', 'fail'],
      ['the rest', 'skip'],
    ]);
  });

  it('shows its timeout default in human units', async () => {
    const run = await doctor(['--help']);
    expect(run.stdout).toMatch(/--timeout <duration>[\s\S]*\(default: 5s\)/);
    expect(run.stdout).toMatch(/Exit status: 0 every check passed, 1 warnings only, 2 something failed/);
  });
});
