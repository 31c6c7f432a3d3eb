import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/clock/system-clock.ts';
import { startSetupPage } from '../../../src/gateway/status/setup-page.ts';
import { silentLogger } from '../../../src/log/logger.ts';
import { scratchDir } from '../../support/chain.ts';
import { RawHttpConnection } from '../../support/raw-http.ts';
import { deferredTeardown } from '../../support/teardown.ts';

/**
 * Issue 13, finding 7 at class level: a fresh box in setup mode (no config, no password) under
 * generated onboarding and first-password posts that get past the CSRF check (cookie and field
 * agree, as any non-browser client can make them) but do not know the setup code: nothing is
 * ever written, and no answer says the gateway is starting.
 */
const defer = deferredTeardown();
const RUNS = 1500;
const CSRF = 'A'.repeat(43);

describe('setup page of a fresh box under generated claims', () => {
  it(`${RUNS} onboarding and first-password posts without the setup code write nothing`, async () => {
    const { dir, cleanup } = scratchDir('setup-fuzz');
    defer(cleanup);
    const configFile = join(dir, 'etc', 'gateway.yaml');
    const stateDir = join(dir, 'state');
    const page = startSetupPage({
      clock: systemClock,
      logger: silentLogger(),
      configFile,
      issues: [],
      settings: {
        listen: { host: '127.0.0.1', port: 0 },
        stateDir,
        passwordHash: undefined,
        auth: 'password',
        hostnames: [],
        setupWindowMs: 3_600_000,
      },
    });
    defer(() => page.stop());
    const port = Number(new URL(String(await page.ready)).port);
    const conns: RawHttpConnection[] = [];
    defer(() => {
      for (const c of conns) c.destroy();
    });
    const field = fc.constantFrom(
      'setupCode=',
      'setupCode=AAAA-BBBB-CCCC',
      'setupCode=%00',
      'setupCode=%E0%A4%A',
      'setupCode[]=x',
      'setupCode=aaaa-bbbb-cccc&setupCode=x',
      '',
    );
    const form = fc
      .record({
        code: field,
        url: fc.constantFrom('wss://attacker.example/push', 'ws://127.0.0.1:1/push', ''),
        extra: fc.string({ maxLength: 40 }),
      })
      .map(
        ({ code, url, extra }) =>
          `_csrf=${CSRF}&${code}&id=office-1&url=${encodeURIComponent(url)}&token=${'k'.repeat(24)}&password=page+password&confirm=page+password&${encodeURIComponent(extra)}`,
      );
    const request = fc.record({
      target: fc.constantFrom(
        '/setup/onboard',
        '/set-password',
        '/setup/recheck',
        '//setup/onboard',
        '/setup/onboard/',
        '/SETUP/ONBOARD',
        '/setup/%6Fnboard',
      ),
      host: fc.constantFrom(`127.0.0.1:${port}`, `localhost:${port}`, 'attacker.example'),
      header: fc.constantFrom('', 'X-Setup-Code: AAAA-BBBB-CCCC\r\n', 'X-Setup-Code: \r\n'),
      body: form,
    });
    let served = 0;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const body = Buffer.from(r.body, 'latin1');
        const raw = `POST ${r.target} HTTP/1.1\r\nHost: ${r.host}\r\nCookie: mfpgw_form=${CSRF}\r\n${r.header}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`;
        const slot = served++ % 4;
        let conn = conns[slot];
        if (!conn?.open) {
          conn = new RawHttpConnection(port);
          conns[slot] = conn;
        }
        const answer = await conn.exchange(Buffer.concat([Buffer.from(raw, 'latin1'), body]), {
          timeoutMs: 5000,
        });
        const what = `${raw.split('\r\n')[0]} ${r.header.trim()} ${r.body.slice(0, 80)}: ${answer.status}`;
        expect(answer.status >= 200 && answer.status < 300, what).toBe(false);
        expect(answer.body.toString(), what).not.toContain('gateway is starting');
        expect(existsSync(configFile), what).toBe(false);
        expect(existsSync(join(stateDir, 'status-password')), what).toBe(false);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
  }, 60_000);
});
