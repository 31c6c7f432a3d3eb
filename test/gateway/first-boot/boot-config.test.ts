import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importBootConfig } from '../../../src/gateway/first-boot/boot-config.ts';
import { scratchDir } from '../../support/chain.ts';

const VALID = `# written on a PC after flashing
gateway:
  id: office-1
cloud:
  url: wss://cloud.example.com/push
  token: \${env:MFPGW_CLOUD_TOKEN}
`;
const OLD = 'gateway: { id: old }\n';

let dir: string;
let cleanup: () => void;
let bootFile: string;
let configFile: string;
beforeEach(() => {
  ({ dir, cleanup } = scratchDir('first-boot'));
  bootFile = join(dir, 'mfp-gateway.yaml');
  configFile = join(dir, 'etc/gateway.yaml');
});
afterEach(() => cleanup());

const env = { MFPGW_CLOUD_TOKEN: 'x'.repeat(32) };

describe('first-boot config import', () => {
  it('does nothing without a boot config', () => {
    expect(importBootConfig({ bootFile, configFile, env })).toEqual({ outcome: 'absent', bootFile });
    expect(existsSync(configFile)).toBe(false);
  });

  it('moves a valid boot config into place, readable by owner and group only, keeping its text', () => {
    writeFileSync(bootFile, VALID);
    expect(importBootConfig({ bootFile, configFile, env })).toEqual({
      outcome: 'imported',
      bootFile,
      configFile,
    });
    expect(existsSync(bootFile)).toBe(false);
    expect(readFileSync(configFile, 'utf8')).toBe(VALID);
    expect(statSync(configFile).mode & 0o777).toBe(0o640);
  });

  it('leaves an invalid boot config where it is, keeps the old config and names every problem', () => {
    writeFileSync(bootFile, `${VALID}keepalive:\n  default: "45"\nlog: { colour: red }\n`);
    const result = importBootConfig({ bootFile, configFile, env });
    expect(result).toEqual({
      outcome: 'invalid',
      bootFile,
      issues: [
        {
          key: 'keepalive.default',
          value: '"45"',
          expected: expect.stringContaining('duration with a unit'),
        },
        // An unknown key's value is never shown: a misspelt key may hold a secret.
        { key: 'log.colour', value: '', expected: expect.stringContaining('unknown setting') },
      ],
    });
    expect(existsSync(bootFile)).toBe(true);
    expect(existsSync(configFile)).toBe(false);
  });

  it('treats a secret it cannot resolve as invalid, without showing secrets', () => {
    writeFileSync(bootFile, VALID);
    const result = importBootConfig({ bootFile, configFile, env: {} });
    expect(result).toMatchObject({
      outcome: 'invalid',
      issues: [{ key: 'cloud.token', expected: 'environment variable MFPGW_CLOUD_TOKEN to be set' }],
    });
    expect(existsSync(bootFile)).toBe(true);
  });

  it('reports a config it cannot write as failed and leaves both files alone', () => {
    writeFileSync(bootFile, VALID);
    const blocked = join(dir, 'not-a-dir');
    writeFileSync(blocked, OLD);
    const result = importBootConfig({ bootFile, configFile: join(blocked, 'gateway.yaml'), env });
    expect(result).toMatchObject({ outcome: 'failed', reason: expect.stringContaining('not-a-dir') });
    expect(readFileSync(bootFile, 'utf8')).toBe(VALID);
    expect(readFileSync(blocked, 'utf8')).toBe(OLD);
  });

  it('reads the boot config path from MFPGW_BOOT_CONFIG', () => {
    writeFileSync(bootFile, VALID);
    expect(importBootConfig({ configFile, env: { ...env, MFPGW_BOOT_CONFIG: bootFile } })).toMatchObject({
      outcome: 'imported',
    });
  });
});
