import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/config-error.ts';
import { parseGatewayConfig } from '../../../src/config/gateway-config.ts';

const minimal = {
  gateway: { id: 'office-1' },
  cloud: { url: 'wss://cloud.example.com/push', token: 'a'.repeat(32) },
};

describe('gateway config: journal', () => {
  it('keeps 30 days (100 000 tunnels, 200 000 log lines) and listens for syslog only when asked', () => {
    const { journal } = parseGatewayConfig(minimal);
    expect(journal).toEqual({
      retention: {
        maxAge: 30 * 86_400_000,
        maxTunnelRecords: 100_000,
        maxDeviceLogs: 200_000,
        every: 3_600_000,
      },
    });
  });

  it('listens on UDP and TCP port 5514 on every address once journal.syslog is present', () => {
    const { journal } = parseGatewayConfig({ ...minimal, journal: { syslog: {} } });
    expect(journal.syslog).toEqual({
      udp: { host: '0.0.0.0', port: 5514 },
      tcp: { host: '0.0.0.0', port: 5514 },
      allowFrom: [],
      maxMessageSize: 8192,
      maxConnections: 64,
      rateLimit: { perSecond: 20, burst: 100 },
    });
    const udpOnly = parseGatewayConfig({
      ...minimal,
      journal: { syslog: { tcp: false, udp: { host: '192.168.1.2' } } },
    });
    expect(udpOnly.journal.syslog).toMatchObject({ udp: { host: '192.168.1.2', port: 5514 }, tcp: false });
  });

  it('names the key of a bad listen address or sender range', () => {
    try {
      parseGatewayConfig({
        ...minimal,
        journal: { syslog: { udp: { host: 'printer.lan' }, allowFrom: ['192.168.1.0/33'] } },
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.map((i) => i.key)).toEqual([
        'journal.syslog.udp.host',
        'journal.syslog.allowFrom.0',
      ]);
    }
  });
});
