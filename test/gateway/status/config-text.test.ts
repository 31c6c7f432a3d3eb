import { describe, expect, it } from 'vitest';
import { maskConfigText, restoreSecrets } from '../../../src/gateway/status/config-text.ts';

const original = `# the office gateway
gateway: { id: office-1, stateDir: /var/lib/mfp-gateway }
cloud:
  url: wss://cloud.example/push
  token: "tok-0123456789abcdef"   # from the cloud's console
  proxy: http://office:proxy-pw@192.0.2.8:3128
devices:
  - id: mfp-1
    snmp: { community: private-one }
  - id: mfp-2
    snmp: { community: private-two }
storage:
  key: |
    c2VjcmV0LWtleS1vZi0zMi1ieXRlcy1mb3ItdGhlLXN0b3Jl
    bW9yZQ==
status:
  listen: { host: 0.0.0.0, port: 8080 }
keepalive: { default: 45 }
`;

describe('a config file’s text for the setup page’s editor', () => {
  const masked = maskConfigText(original);

  it('hides every secret, keeps comments and layout', () => {
    for (const secret of [
      'tok-0123456789abcdef',
      'proxy-pw',
      'private-one',
      'private-two',
      'c2VjcmV0',
      'bW9yZQ',
    ])
      expect(masked).not.toContain(secret);
    expect(masked).toContain(`  token: "***"   # from the cloud's console`);
    expect(masked).toContain('  proxy: http://office:***@192.0.2.8:3128');
    expect(masked).toContain('    snmp: { community: "***" }');
    expect(masked).toContain('  key: "***"\nstatus:');
    expect(masked).toContain('# the office gateway');
    expect(masked).toContain('keepalive: { default: 45 }');
  });

  it('puts the secrets back where *** was left, in order, and keeps what was typed', () => {
    const edited = masked.replace('keepalive: { default: 45 }', 'keepalive: { default: 45s }');
    const restored = restoreSecrets(edited, original);
    expect(restored.unresolved).toEqual([]);
    expect(restored.text).toBe(original.replace('keepalive: { default: 45 }', 'keepalive: { default: 45s }'));

    const retyped = restoreSecrets(
      masked.replace('  token: "***"   # from the cloud\'s console', '  token: new-token-0123456789'),
      original,
    );
    expect(retyped.text).toContain('  token: new-token-0123456789');
    expect(retyped.text).toContain('community: private-two');
  });

  it('hides the value of a key the file misspelt (named by the config errors) and puts it back', () => {
    const text = 'cloud:\n  url: wss://cloud.example/push\n  tokn: typo-held-token-5b2c7d\n';
    const masked = maskConfigText(text, new Set(['tokn']));
    expect(masked).toBe('cloud:\n  url: wss://cloud.example/push\n  tokn: "***"\n');
    const edited = masked.replace('tokn: "***"', 'tokn: "***"\n  connections: 3');
    expect(restoreSecrets(edited, text, new Set(['tokn'])).text).toBe(
      'cloud:\n  url: wss://cloud.example/push\n  tokn: typo-held-token-5b2c7d\n  connections: 3\n',
    );
  });

  it('names a *** that has no secret behind it', () => {
    const restored = restoreSecrets(
      `${masked}\nmqtt: { url: mqtts://b.example, password: "***" }\n`,
      original,
    );
    expect(restored.unresolved).toEqual(['mqtt: { url: mqtts://b.example, password: "***" }']);
  });
});
