import { describe, expect, it } from 'vitest';
import { AddressError, formatHostPort, parseHostPort } from '../../src/sim/firewall/address.ts';

describe('parseHostPort', () => {
  it.each([
    ['127.0.0.1:8443', { host: '127.0.0.1', port: 8443 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
    ['gw.example.co.jp:65535', { host: 'gw.example.co.jp', port: 65_535 }],
    ['[::1]:80', { host: '::1', port: 80 }],
    [' [fe80::1:2]:9100 ', { host: 'fe80::1:2', port: 9100 }],
  ])('reads %j', (text, expected) => {
    expect(parseHostPort(text)).toEqual(expected);
  });

  it.each([
    ['8443', /no port/],
    [':8443', /no host/],
    ['localhost:', /not a port/],
    ['localhost:http', /not a port/],
    ['localhost:65536', /not a port/],
    ['localhost:-1', /not a port/],
    ['::1:80', /brackets: "\[::1\]:80"/],
    ['[::1]80', /\[ADDRESS\]:PORT/],
    ['[::1:80', /\[ADDRESS\]:PORT/],
    ['[nothost]:80', /not an IPv6 address/],
  ])('refuses %j with a coded error that says what is wrong', (text, message) => {
    const attempt = () => parseHostPort(text);
    expect(attempt).toThrow(AddressError);
    expect(attempt).toThrow(message);
    expect(attempt).toThrow(expect.objectContaining({ code: 'MFP_ERR_ADDRESS' }));
  });
});

describe('formatHostPort', () => {
  it('brackets IPv6 literals so the result parses back', () => {
    for (const text of ['[::1]:80', '127.0.0.1:9', 'localhost:0']) {
      expect(formatHostPort(parseHostPort(text))).toBe(text);
    }
  });
});
