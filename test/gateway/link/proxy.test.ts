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

  it('never shows the proxy password', () => {
    expect(describeProxy(new URL('http://bob:s3cret@p.lan:3128'))).toBe('http://bob:***@p.lan:3128/');
  });
});
