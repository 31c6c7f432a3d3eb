import { describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../src/config/gateway-config.ts';
import { isSecretKey, MASK, maskSecrets, maskUrlCredentials } from '../../src/secrets/mask.ts';

describe('isSecretKey', () => {
  it('treats tokens, passwords, hashes, keys and SNMP communities as secrets', () => {
    for (const key of ['cloud.token', 'password', 'status.passwordHash', 'devices.0.snmp.community', 'key'])
      expect(isSecretKey(key), key).toBe(true);
    for (const key of ['cloud.url', 'keyFile', 'keepalive.default', 'username', 'cloud.proxy'])
      expect(isSecretKey(key), key).toBe(false);
  });
});

describe('maskUrlCredentials', () => {
  it('hides the password of every URL in a text and a lone userinfo (a token), keeps the rest', () => {
    expect(maskUrlCredentials('http://bob:hunter2@proxy.lan:3128')).toBe('http://bob:***@proxy.lan:3128');
    expect(maskUrlCredentials('via http://a:p@ss@x:1/ and https://TOKEN@git.example/r?q=a@b')).toBe(
      'via http://a:***@x:1/ and https://***@git.example/r?q=a@b',
    );
    expect(maskUrlCredentials('wss://cloud.example.com/push?to=a@b')).toBe(
      'wss://cloud.example.com/push?to=a@b',
    );
  });
});

describe('maskSecrets', () => {
  it('leaves no secret of a full gateway config: token, proxy password, hash, SNMP community', () => {
    const secrets = {
      token: 'cloud-token-that-must-not-leak-0123456789',
      proxyPassword: 'proxy-pass-9f3',
      community: 'office-community-77',
      hash: '$scrypt$ln=14,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
    };
    const config = parseGatewayConfig(
      {
        gateway: { id: 'gw1' },
        cloud: {
          url: 'wss://cloud.example.com/push',
          token: secrets.token,
          proxy: `http://office:${secrets.proxyPassword}@192.0.2.8:3128`,
        },
        status: { passwordHash: secrets.hash },
        devices: [
          {
            id: 'mfp-a',
            driver: 'pjl',
            host: '192.0.2.10',
            snmp: { host: '192.0.2.10', community: secrets.community },
          },
        ],
      },
      { env: {} },
    );
    const shown = JSON.stringify(maskSecrets(config));
    for (const [what, secret] of Object.entries(secrets)) expect(shown, what).not.toContain(secret);
    const masked = maskSecrets(config) as typeof config;
    expect(masked.cloud.proxy).toBe('http://office:***@192.0.2.8:3128');
    expect(masked.devices[0]?.snmp?.community).toBe(MASK);
    expect(masked.devices[0]?.snmp?.host).toBe('192.0.2.10');
  });
});
