import { describe, expect, it } from 'vitest';
import { domainOf, siteKey } from '../../../src/cloud/learning/domain.ts';

describe('domainOf', () => {
  it.each([
    ['a.example.co.jp', 'example.co.jp'],
    ['xxx001.yyy.co.jp', 'yyy.co.jp'],
    ['office1.acme.com', 'acme.com'],
    ['printers.floor2.office1.acme.com', 'acme.com'],
    ['gw.branch.example.co.uk', 'example.co.uk'],
    ['gw.example.com.au', 'example.com.au'],
    ['Gw1.Example.CO.JP.', 'example.co.jp'],
    ['acme.com', 'acme.com'],
    ['example.co.jp', 'example.co.jp'],
    ['localhost', 'localhost'],
    ['192.168.100.200', '192.168.100.200'],
  ])('%s → %s', (host, domain) => {
    expect(domainOf(host)).toBe(domain);
  });
});

describe('siteKey', () => {
  it('groups one domain behind one egress address', () => {
    expect(siteKey('a.example.co.jp', '203.0.113.5')).toBe(siteKey('example.co.jp', '203.0.113.5'));
  });

  it('separates one domain on two egress addresses, and two domains on one', () => {
    expect(siteKey('example.co.jp', '203.0.113.5')).not.toBe(siteKey('example.co.jp', '203.0.113.6'));
    expect(siteKey('example.co.jp', '203.0.113.5')).not.toBe(siteKey('other.co.jp', '203.0.113.5'));
  });

  it('accepts an unknown egress address', () => {
    expect(siteKey('example.co.jp', null)).toBe('example.co.jp@*');
  });
});
