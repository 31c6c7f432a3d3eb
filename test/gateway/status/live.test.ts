import { once } from 'node:events';
import { beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ManualClock } from '../../../src/clock/manual-clock.ts';
import { hashPassword } from '../../../src/secrets/password-hash.ts';
import { deferredTeardown } from '../../support/teardown.ts';
import { Browser, line, startTestPage } from './page-harness.ts';

const PASSWORD = 'live updates password';
let passwordHash = '';
beforeAll(async () => {
  passwordHash = await hashPassword(PASSWORD);
});
const defer = deferredTeardown();

type Message = { type: string; status?: Record<string, unknown>; sections?: Record<string, unknown> };

/** Opens the live socket as a browser would; collects its messages. */
function openLive(url: string, headers: Record<string, string>) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/live`, { headers });
  defer(() => ws.terminate());
  const messages: Message[] = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data) => {
    messages.push(JSON.parse(String(data)) as Message);
    for (const w of waiters.splice(0)) w();
  });
  const count = async (n: number) => {
    while (messages.length < n) await new Promise<void>((r) => waiters.push(r));
    return messages;
  };
  return { ws, messages, count };
}

function refusal(url: string, headers: Record<string, string>): Promise<number> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/live`, { headers });
  return new Promise((resolve, reject) => {
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => reject(new Error('the socket was accepted')));
    ws.on('error', () => {});
  });
}

describe('live updates over WebSocket', () => {
  it('refuses a socket without a session, or from another site', async () => {
    const clock = new ManualClock();
    const { url } = await startTestPage(clock, { passwordHash }, defer);
    expect(await refusal(url, { origin: url })).toBe(401);
    const browser = new Browser(url);
    await browser.login(PASSWORD);
    const cookie = `mfpgw_session=${browser.cookies.get('mfpgw_session')}`;
    expect(await refusal(url, { cookie, origin: 'http://evil.example' })).toBe(403);
  });

  it('sends a snapshot, then coalesced patches of what changed, at most once per minGap', async () => {
    const clock = new ManualClock();
    const { url, link } = await startTestPage(
      clock,
      { passwordHash, live: { minGap: '1s', refresh: '1h' } },
      defer,
    );
    const browser = new Browser(url);
    await browser.login(PASSWORD);
    const live = openLive(url, {
      cookie: `mfpgw_session=${browser.cookies.get('mfpgw_session')}`,
      origin: url,
    });
    const [snapshot] = await live.count(1);
    expect(snapshot?.type).toBe('snapshot');
    expect(snapshot?.status).toMatchObject({
      gateway: { id: 'gw1' },
      lines: [],
      devices: [],
      tunnels: [],
      jobs: [],
    });

    link.set({ lines: [line('line-0', 'connecting'), line('line-1', 'idle')] });
    link.set({ lines: [line('line-0', 'open'), line('line-1', 'connecting')] });
    clock.advance(0);
    const [, first] = await live.count(2);
    expect(first?.type).toBe('patch');
    expect(first?.sections?.lines).toEqual([line('line-0', 'open'), line('line-1', 'connecting')]);
    expect(first?.sections).toHaveProperty('cloud.linesUp', 1);
    expect(first?.sections).not.toHaveProperty('devices'); // unchanged sections are not resent

    link.set({ lines: [line('line-0', 'open'), line('line-1', 'open')] });
    clock.advance(999);
    link.set({ lines: [line('line-0', 'open'), line('line-1', 'open', { reconnects: 1 })] });
    clock.advance(1);
    const messages = await live.count(3);
    expect(messages).toHaveLength(3);
    expect(messages[2]?.sections?.lines).toEqual([
      line('line-0', 'open'),
      line('line-1', 'open', { reconnects: 1 }),
    ]);
  });

  it('closes the socket when its session is over; the page then finds /api/status answering 401', async () => {
    const clock = new ManualClock();
    const { url } = await startTestPage(clock, { passwordHash, sessionTtl: '1m' }, defer);
    const browser = new Browser(url);
    await browser.login(PASSWORD);
    const live = openLive(url, {
      cookie: `mfpgw_session=${browser.cookies.get('mfpgw_session')}`,
      origin: url,
    });
    await live.count(1);
    const closed = once(live.ws, 'close');
    clock.advance(60_000);
    const [code] = await closed;
    expect(code).toBe(4001);
    expect((await browser.request('/api/status', { method: 'HEAD' })).status).toBe(401);
  });
});
