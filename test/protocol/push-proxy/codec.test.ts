import { describe, expect, it } from 'vitest';
import {
  decodeForDevice,
  decodeFromDevice,
  decodeStreamFromCloud,
  decodeStreamFromGateway,
} from '../../../src/protocol/push-proxy/codec.ts';

const codeOf = (decoded: { ok: boolean; error?: { code: string } }) =>
  decoded.ok ? 'ok' : decoded.error?.code;

describe('push proxy messages', () => {
  it('decodes what a device says and refuses malformed frames with codes', () => {
    const hello = { type: 'hello', v: 1, deviceId: 'mfp-a', token: 'x'.repeat(20) };
    expect(decodeFromDevice(JSON.stringify(hello))).toMatchObject({ ok: true, message: hello });
    expect(codeOf(decodeFromDevice(Buffer.from([1, 2]), true))).toBe('MFP_ERR_BINARY_UNEXPECTED');
    expect(codeOf(decodeFromDevice('{"type":'))).toBe('MFP_ERR_INVALID_JSON');
    expect(codeOf(decodeFromDevice('{"type":"reboot"}'))).toBe('MFP_ERR_UNKNOWN_TYPE');
    expect(codeOf(decodeFromDevice('[]'))).toBe('MFP_ERR_INVALID_MESSAGE');
    expect(codeOf(decodeFromDevice('{"type":"keepalive","seq":-1}'))).toBe('MFP_ERR_INVALID_MESSAGE');
    expect(codeOf(decodeFromDevice(JSON.stringify({ ...hello, deviceId: '' })))).toBe(
      'MFP_ERR_INVALID_MESSAGE',
    );
    expect(codeOf(decodeFromDevice(`{"type":"push-ack","pushId":"${'p'.repeat(70_000)}"}`))).toBe(
      'MFP_ERR_FRAME_TOO_LARGE',
    );
  });

  it('keeps the directions apart: a device cannot send a push, the gateway cannot send a hello', () => {
    expect(codeOf(decodeFromDevice('{"type":"push","pushId":"p","dataType":"t","payload":1}'))).toBe(
      'MFP_ERR_UNKNOWN_TYPE',
    );
    expect(codeOf(decodeForDevice('{"type":"hello","v":1,"deviceId":"d","token":"t"}'))).toBe(
      'MFP_ERR_UNKNOWN_TYPE',
    );
    expect(codeOf(decodeStreamFromCloud(Buffer.from('{"type":"attach"}')))).toBe('MFP_ERR_UNKNOWN_TYPE');
  });

  it('checks push outcomes on the stream', () => {
    const status = { type: 'push-status', pushId: 'p1', status: 'held', at: 5, held: 1, expiresAt: 10 };
    expect(decodeStreamFromGateway(Buffer.from(JSON.stringify(status)))).toMatchObject({ ok: true });
    expect(codeOf(decodeStreamFromGateway(Buffer.from(JSON.stringify({ ...status, status: 'lost' }))))).toBe(
      'MFP_ERR_INVALID_MESSAGE',
    );
    const attach = {
      type: 'attach',
      v: 1,
      deviceId: 'd',
      state: 'dozing',
      since: 0,
      keepaliveMs: 1,
      held: 0,
    };
    expect(codeOf(decodeStreamFromGateway(Buffer.from(JSON.stringify(attach))))).toBe(
      'MFP_ERR_INVALID_MESSAGE',
    );
  });
});
