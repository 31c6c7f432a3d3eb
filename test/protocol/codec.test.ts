import { describe, expect, it } from 'vitest';
import { decodeFromCloud, decodeFromGateway, encodeMessage } from '../../src/protocol/codec.ts';
import { MAX_ADVISED_MS, MAX_CONTROL_FRAME_BYTES, PROTOCOL_VERSION } from '../../src/protocol/messages.ts';

const hello = {
  type: 'hello',
  v: PROTOCOL_VERSION,
  gatewayId: 'office-1',
  clientId: '3b241101-e2bb-4255-8caf-4136c566a962',
  connectionId: 'line-0',
  role: 'push',
  domain: 'a.example.co.jp',
  uptimeMs: 1000,
  cpuLoad: 0.1,
  powerMode: 'normal',
  keepaliveMs: 50_000,
  policyLimited: false,
  software: 'mfp-gateway/0.1.0',
  lost: [],
};

describe('control message codec', () => {
  it('round-trips a hello', () => {
    const decoded = decodeFromGateway(encodeMessage(hello as never));
    expect(decoded).toEqual({ ok: true, message: hello });
  });

  it('refuses a frame that is not JSON with a typed error', () => {
    const decoded = decodeFromGateway('{"type": "hello",');
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.error.code).toBe('MFP_ERR_INVALID_JSON');
      expect(decoded.error.closeCode).toBe(1007);
    }
  });

  it('refuses an unknown message type and names it', () => {
    const decoded = decodeFromCloud(JSON.stringify({ type: 'self-destruct' }));
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.error.code).toBe('MFP_ERR_UNKNOWN_TYPE');
      expect(decoded.error.message).toContain('self-destruct');
    }
  });

  it('refuses a message of the other direction', () => {
    const decoded = decodeFromCloud(encodeMessage(hello as never));
    expect(decoded.ok && decoded.message.type).toBe(false);
  });

  it('refuses an oversized frame before parsing it', () => {
    const big = JSON.stringify({
      type: 'push',
      pushId: 'p',
      dataType: 'x',
      payload: 'a'.repeat(MAX_CONTROL_FRAME_BYTES),
    });
    const decoded = decodeFromCloud(big);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.error.code).toBe('MFP_ERR_FRAME_TOO_LARGE');
      expect(decoded.error.closeCode).toBe(1009);
    }
  });

  it('names the bad field of an invalid message', () => {
    const decoded = decodeFromGateway(JSON.stringify({ ...hello, clientId: 'not-a-uuid' }));
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.error.code).toBe('MFP_ERR_INVALID_MESSAGE');
      expect(decoded.error.message).toContain('clientId');
    }
  });

  it('refuses binary frames on the control path', () => {
    const decoded = decodeFromGateway(Buffer.from([1, 2, 3]), true);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.code).toBe('MFP_ERR_BINARY_UNEXPECTED');
  });

  it('never throws on random bytes', () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(
        Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256)),
      );
      const mutated = Buffer.from(encodeMessage(hello as never));
      mutated[Math.floor(rand() * mutated.length)] = Math.floor(rand() * 256);
      for (const frame of [bytes, mutated]) {
        const decoded = decodeFromGateway(frame);
        if (!decoded.ok) expect(decoded.error.code).toMatch(/^MFP_ERR_/);
      }
    }
  });
});

describe('advice bounds (issue 13.14)', () => {
  const advice = {
    intervalMs: 30 * 86_400_000,
    source: 'history',
    mcvtMs: null,
    lowerBoundMs: null,
    upperBoundMs: 40 * 86_400_000,
    lifetimeCapMs: null,
    reconnectBeforeAgeMs: null,
    converged: true,
  };

  it('takes advice longer than a Node timer holds as the protocol maximum, not as given', () => {
    const decoded = decodeFromCloud(JSON.stringify({ type: 'keepalive-ack', seq: 1, advice, probe: false }));
    expect(decoded.ok && decoded.message.type === 'keepalive-ack' && decoded.message.advice).toMatchObject({
      intervalMs: MAX_ADVISED_MS,
      upperBoundMs: MAX_ADVISED_MS,
    });
    expect(MAX_ADVISED_MS).toBeLessThan(2 ** 31 - 1);
  });

  it('bounds a probe gap the same way', () => {
    const decoded = decodeFromCloud(JSON.stringify({ type: 'probe', probeId: 'p1', gapMs: 1e12 }));
    expect(decoded.ok && decoded.message.type === 'probe' && decoded.message.gapMs).toBe(MAX_ADVISED_MS);
  });
});
