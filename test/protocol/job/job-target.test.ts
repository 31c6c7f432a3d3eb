import { describe, expect, it } from 'vitest';
import { jobTargetOf } from '../../../src/protocol/job/job-target.ts';
import { isPushProxyStream, pushProxyTarget } from '../../../src/protocol/push-proxy/proxy-target.ts';
import { decodeTarget, encodeTarget } from '../../../src/protocol/tunnel/target.ts';

describe('OPEN targets: the tunnel carries the fields of the layers above without reading them', () => {
  it('passes job fields through the tunnel codec, checked by the jobs layer', () => {
    const decoded = decodeTarget(
      encodeTarget({ jobId: 'j1', deviceId: 'nas', jobType: 'storage', name: 'a.pdf', size: 10 }),
    );
    expect(decoded).not.toBeInstanceOf(Error);
    const fields = jobTargetOf(decoded as Record<string, unknown>);
    expect(fields).toEqual({ jobType: 'storage', name: 'a.pdf', size: 10 });
  });

  it('leaves a bad job field to the jobs layer, which names it', () => {
    const decoded = decodeTarget(encodeTarget({ jobId: 'j1', deviceId: 'm', jobType: 'fax', size: -1 }));
    expect(decoded).toMatchObject({ jobId: 'j1', jobType: 'fax' });
    expect(jobTargetOf(decoded as Record<string, unknown>)).toEqual({
      problem: expect.stringMatching(/^invalid job target: (jobType|size): /),
    });
  });

  it('marks a device push stream for the push proxy, and nothing else', () => {
    const target = decodeTarget(encodeTarget(pushProxyTarget('mfp-1'))) as Record<string, unknown>;
    expect(isPushProxyStream(target)).toBe(true);
    expect(
      isPushProxyStream(decodeTarget(encodeTarget({ jobId: 'j', deviceId: 'd' })) as Record<string, unknown>),
    ).toBe(false);
  });

  it('still refuses what the tunnel itself needs: a job id and a device or an address', () => {
    expect(decodeTarget(encodeTarget({ jobId: 'j' }))).toBeInstanceOf(Error);
    expect(decodeTarget(Buffer.from('{"deviceId":"d"}'))).toBeInstanceOf(Error);
  });
});
