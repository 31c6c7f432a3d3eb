import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.ts';
import { parseGatewayConfig } from '../../src/config/gateway-config.ts';

const token = 'a'.repeat(32);
const hostKey = `SHA256:${'A'.repeat(43)}`;
const key = Buffer.alloc(32, 1).toString('base64');

function withStorage(device: Record<string, unknown>) {
  return {
    gateway: { id: 'office-1' },
    cloud: { url: 'wss://cloud.example.com/push', token },
    storage: { key },
    devices: [{ id: 'nas', driver: 'storage', ...device }],
  };
}

function keysOf(device: Record<string, unknown>): string[] {
  try {
    parseGatewayConfig(withStorage(device));
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.key}: ${i.expected}`);
    throw err;
  }
  return [];
}

describe('a storage device on a file server', () => {
  it('takes an SFTP server with a pinned host key and a key file, or an SMB share with a password', () => {
    const config = parseGatewayConfig({
      ...withStorage({ url: 'sftp://scan@192.0.2.50:2222/srv/scans', hostKey, privateKeyFile: '/etc/k' }),
    });
    expect(config.devices[0]).toMatchObject({
      url: 'sftp://scan@192.0.2.50:2222/srv/scans',
      timeout: 30_000,
    });
    const smb = parseGatewayConfig(
      withStorage({ url: 'smb://192.0.2.51/scans/inbox', username: 'scan', password: 'pw' }),
    );
    expect(smb.devices[0]).toMatchObject({ protection: 'encrypt' });
  });

  it('names what is missing: a host key for SFTP, a user and password for SMB, one place to store', () => {
    expect(keysOf({ url: 'sftp://scan@192.0.2.50/srv', privateKeyFile: '/k' })).toEqual([
      expect.stringMatching(/^devices\.0\.hostKey: .*fingerprint/),
    ]);
    expect(keysOf({ url: 'sftp://scan@192.0.2.50/srv', hostKey })).toEqual([
      expect.stringMatching(/^devices\.0\.password: password or privateKeyFile/),
    ]);
    expect(keysOf({ url: 'smb://192.0.2.51/scans' })).toEqual([
      expect.stringMatching(/^devices\.0\.username/),
      expect.stringMatching(/^devices\.0\.password/),
    ]);
    expect(keysOf({})).toEqual([expect.stringMatching(/^devices\.0\.directory: either directory .* or url/)]);
    expect(keysOf({ directory: '/mnt/nas', url: 'smb://h/s', username: 'u', password: 'p' })).toHaveLength(1);
  });

  it('refuses a password inside the url, where it would be logged, and other schemes', () => {
    expect(keysOf({ url: 'sftp://scan:secret@192.0.2.50/srv', hostKey, password: 'p' })).toEqual([
      expect.stringMatching(/^devices\.0\.url: .*without a password/),
    ]);
    expect(keysOf({ url: 'ftp://192.0.2.50/srv' })[0]).toMatch(/^devices\.0\.url/);
    expect(keysOf({ url: 'sftp://scan@192.0.2.50/srv', hostKey: 'MD5:aa', password: 'p' })[0]).toMatch(
      /^devices\.0\.hostKey: SHA256:/,
    );
  });
});
