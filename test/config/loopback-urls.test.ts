import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.ts';
import { parseGatewayConfig } from '../../src/config/gateway-config.ts';

const token = 'a'.repeat(32);
const withCloud = (url: string) => ({ gateway: { id: 'office-1' }, cloud: { url, token } });
const withMqtt = (url: string) => ({ ...withCloud('wss://cloud.example/push'), mqtt: { url } });

function accepted(raw: unknown): boolean {
  try {
    parseGatewayConfig(raw);
    return true;
  } catch (err) {
    if (err instanceof ConfigError) return false;
    throw err;
  }
}

// Issue 13.12: "127.cloud.example" passed as loopback; only IP literals of the loopback range count.
describe('plain ws:// and mqtt:// only to a loopback IP literal', () => {
  it.each([
    'ws://127.cloud.example/push',
    'ws://127.0.0.1.nip.io/push',
    'ws://localhost:8080/push',
    'ws://127/push',
    'ws://[::ffff:10.0.0.1]/push',
    'ws://10.0.0.1/push',
  ])('refuses %s', (url) => {
    expect(accepted(withCloud(url))).toBe(false);
    expect(accepted(withMqtt(url.replace('ws://', 'mqtt://')))).toBe(false);
  });

  it.each(['ws://127.0.0.1:8080/push', 'ws://127.2.3.4/push', 'ws://[::1]:8080/push'])(
    'accepts %s',
    (url) => {
      expect(accepted(withCloud(url))).toBe(true);
      expect(accepted(withMqtt(url.replace('ws://', 'mqtt://')))).toBe(true);
    },
  );
});
