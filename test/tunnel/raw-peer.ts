import { ManualClock } from '../../src/clock/manual-clock.ts';
import { TunnelFrameError } from '../../src/protocol/tunnel/errors.ts';
import { TunnelFrameDecoder } from '../../src/protocol/tunnel/frame-decoder.ts';
import { encodeFrames } from '../../src/protocol/tunnel/frame-encoder.ts';
import type { TunnelFrame } from '../../src/protocol/tunnel/frame-types.ts';
import { TunnelMux } from '../../src/tunnel/tunnel-mux.ts';
import { transportPair } from './memory-transport.ts';
import type { MuxTuning } from './mux-pair.ts';

/**
 * A gateway-side mux facing a hand-written peer: the test sends frames of its choosing
 * (including ones that break the rules) and sees every frame the mux answers.
 */
export function rawPeer(tuning: MuxTuning = {}, transportHighWaterMark?: number) {
  const clock = new ManualClock();
  const [muxEnd, peerEnd] = transportPair(transportHighWaterMark);
  const mux = new TunnelMux({ transport: muxEnd, clock, side: 'client', ...tuning });
  const received: TunnelFrame[] = [];
  const decoder = new TunnelFrameDecoder();
  peerEnd.onFrames((message) => {
    decoder.push(message);
    for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
      if (frame instanceof TunnelFrameError) throw frame;
      received.push(frame);
    }
  });
  return {
    clock,
    mux,
    muxEnd,
    peerEnd,
    received,
    /** Sends frames to the mux as one message. */
    send: (...frames: TunnelFrame[]) => peerEnd.send(encodeFrames(frames)),
    /** Frames of one type the mux sent. */
    sentOfType: <T extends TunnelFrame['type']>(type: T) =>
      received.filter((f): f is Extract<TunnelFrame, { type: T }> => f.type === type),
  };
}
