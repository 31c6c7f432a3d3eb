import { describe, expect, it } from 'vitest';
import { bypassesProxy, describeProxy, proxyFor } from '../../../src/gateway/link/proxy.ts';

const cloud = new URL('wss://cloud.example.com/push');

describe('proxy selection', () => {
  it('uses the configured proxy, else HTTPS_PROXY', () => {
    expect(proxyFor(cloud, 'http://p.lan:3128', {})?.host).toBe('p.lan:3128');
    expect(proxyFor(cloud, undefined, { HTTPS_PROXY: 'http://env.lan:8080' })?.host).toBe('env.lan:8080');
    expect(proxyFor(cloud, undefined, {})).toBeNull();
  });

  it('honours NO_PROXY for environment proxies', () => {
    const env = { HTTPS_PROXY: 'http://env.lan:8080', NO_PROXY: 'localhost,.example.com' };
    expect(proxyFor(cloud, undefined, env)).toBeNull();
    expect(proxyFor(new URL('wss://other.net/push'), undefined, env)?.host).toBe('env.lan:8080');
  });

  it('matches suffixes, wildcards and ports', () => {
    expect(bypassesProxy(cloud, 'example.com')).toBe(true);
    expect(bypassesProxy(cloud, '*.example.com')).toBe(true);
    expect(bypassesProxy(cloud, '*')).toBe(true);
    expect(bypassesProxy(cloud, 'example.com:8443')).toBe(false);
    expect(bypassesProxy(cloud, 'example.com:443')).toBe(true);
    expect(bypassesProxy(cloud, 'ample.com')).toBe(false);
    expect(bypassesProxy(new URL('ws://[::1]:80/'), '[::1]')).toBe(true);
  });

  it('matches address ranges, as curl and Go do (issue 15 item 13)', () => {
    expect(bypassesProxy(new URL('ws://127.0.0.1:8080/push'), '127.0.0.0/8')).toBe(true);
    expect(bypassesProxy(new URL('wss://10.20.30.40/push'), 'localhost, 10.0.0.0/8')).toBe(true);
    expect(bypassesProxy(new URL('wss://11.0.0.1/push'), '10.0.0.0/8')).toBe(false);
    expect(bypassesProxy(new URL('wss://[fd00::5]/push'), 'fd00::/8')).toBe(true);
    expect(bypassesProxy(new URL('wss://[fe80::5]/push'), 'fd00::/8')).toBe(false);
    // A range says nothing about names, nor does a malformed one about anything.
    expect(bypassesProxy(cloud, '10.0.0.0/8')).toBe(false);
    expect(bypassesProxy(new URL('wss://10.1.1.1/push'), '10.0.0.0/x')).toBe(false);
  });

  it('never shows the proxy password', () => {
    expect(describeProxy(new URL('http://bob:s3cret@p.lan:3128'))).toBe('http://bob:***@p.lan:3128/');
  });
});
