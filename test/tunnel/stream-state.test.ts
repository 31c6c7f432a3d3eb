import { describe, expect, it } from 'vitest';
import { inboundViolation, type StreamState } from '../../src/tunnel/stream-state.ts';

const state = (phase: StreamState['phase'], remoteEnded = false): StreamState => ({ phase, remoteEnded });

describe('stream state machine (frames from the peer)', () => {
  it('lets an opening stream be answered, updated or reset', () => {
    for (const type of ['open-ok', 'open-refused', 'window-update', 'reset'] as const) {
      expect(inboundViolation(state('opening-out'), type)).toBeUndefined();
    }
    expect(inboundViolation(state('opening-out'), 'data')).toBe('DATA before OPEN_OK');
    expect(inboundViolation(state('opening-out'), 'fin')).toBe('FIN before OPEN_OK');
  });

  it('takes no DATA or FIN before the acceptor decided, but a cancel', () => {
    expect(inboundViolation(state('opening-in'), 'data')).toContain('before the stream was accepted');
    expect(inboundViolation(state('opening-in'), 'open-ok')).toContain('not being opened');
    expect(inboundViolation(state('opening-in'), 'reset')).toBeUndefined();
    expect(inboundViolation(state('opening-in'), 'window-update')).toBeUndefined();
  });

  it('takes DATA and one FIN on an open stream, and nothing after FIN but updates and RESET', () => {
    expect(inboundViolation(state('open'), 'data')).toBeUndefined();
    expect(inboundViolation(state('open'), 'fin')).toBeUndefined();
    expect(inboundViolation(state('open', true), 'data')).toBe('DATA after FIN');
    expect(inboundViolation(state('open', true), 'fin')).toBe('FIN after FIN');
    expect(inboundViolation(state('open', true), 'window-update')).toBeUndefined();
    expect(inboundViolation(state('open', true), 'reset')).toBeUndefined();
    expect(inboundViolation(state('open'), 'open-ok')).toContain('not being opened');
    expect(inboundViolation(state('open'), 'open')).toContain('already in use');
  });
});
