import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ClientAddress, parseRange } from '../../src/http/client-address.ts';

function req(peer: string | undefined, forwardedFor?: string | string[]): IncomingMessage {
  return {
    socket: { remoteAddress: peer },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  } as unknown as IncomingMessage;
}

describe('ClientAddress (issue 18 item 7: the egress address behind a load balancer)', () => {
  it('takes the peer and ignores X-Forwarded-For when no proxy is trusted (anyone could send it)', () => {
    expect(new ClientAddress().of(req('203.0.113.9', '198.51.100.1'))).toBe('203.0.113.9');
  });

  it('believes a trusted balancer: the address it saw', () => {
    const addr = new ClientAddress(['10.0.0.0/8']);
    expect(addr.of(req('10.1.2.3', '198.51.100.7'))).toBe('198.51.100.7');
  });

  it('skips trusted hops from the right and stops at the first untrusted one (left of it may be forged)', () => {
    const addr = new ClientAddress(['10.0.0.0/8', '192.0.2.10']);
    expect(addr.of(req('10.1.2.3', '6.6.6.6, 198.51.100.7, 192.0.2.10'))).toBe('198.51.100.7');
    expect(addr.of(req('10.1.2.3', ['6.6.6.6, 198.51.100.7', '192.0.2.10']))).toBe('198.51.100.7');
  });

  it('does not take the header from a peer that is not trusted', () => {
    const addr = new ClientAddress(['10.0.0.0/8']);
    expect(addr.of(req('203.0.113.9', '198.51.100.7'))).toBe('203.0.113.9');
  });

  it('keeps the last vouched-for address when the chain holds garbage or is missing', () => {
    const addr = new ClientAddress(['10.0.0.0/8']);
    expect(addr.of(req('10.1.2.3', 'not-an-ip'))).toBe('10.1.2.3');
    expect(addr.of(req('10.1.2.3', 'unknown, 10.9.9.9'))).toBe('10.9.9.9');
    expect(addr.of(req('10.1.2.3'))).toBe('10.1.2.3');
  });

  it('reads IPv4 peers on a dual-stack socket and IPv6 ranges', () => {
    expect(new ClientAddress(['127.0.0.1']).of(req('::ffff:127.0.0.1', '2001:db8::5'))).toBe('2001:db8::5');
    expect(new ClientAddress(['fd00::/8']).of(req('fd12::1', '198.51.100.7'))).toBe('198.51.100.7');
  });

  it('refuses what is not an address or range', () => {
    expect(() => parseRange('10.0.0.0/33')).toThrow(/CIDR/);
    expect(() => parseRange('example.com')).toThrow(/CIDR/);
    expect(parseRange('fd00::/8')).toEqual({ address: 'fd00::', prefix: 8, family: 'ipv6' });
  });
});
