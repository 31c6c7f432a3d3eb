import { describe, expect, it } from 'vitest';
import { unitEnvironment, withBenchOverrides } from '../../../bench/support/shipped-gateway.ts';

describe('the environment a bench gives the shipped gateway', () => {
  it("is the unit's, as systemd would set it", () => {
    const env = unitEnvironment();
    expect(env.NODE_ENV).toBe('production');
    expect(env.NODE_OPTIONS).toMatch(/--max-old-space-size=\d+/);
    expect(env.MALLOC_ARENA_MAX).toBe('2');
  });

  it('takes BENCH_GATEWAY_ENV settings on top, adding and replacing', () => {
    const env = withBenchOverrides(
      { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '262144' },
      'MALLOC_MMAP_THRESHOLD_=65536 GLIBC_TUNABLES=glibc.malloc.mxfast=0',
    );
    expect(env).toEqual({
      MALLOC_ARENA_MAX: '2',
      MALLOC_MMAP_THRESHOLD_: '65536',
      GLIBC_TUNABLES: 'glibc.malloc.mxfast=0',
    });
    expect(withBenchOverrides({ A: '1' }, undefined)).toEqual({ A: '1' });
  });

  it('refuses a setting that is not NAME=value, naming it', () => {
    expect(() => withBenchOverrides({}, 'MALLOC_ARENA_MAX')).toThrow(
      'BENCH_GATEWAY_ENV: "MALLOC_ARENA_MAX" is not NAME=value',
    );
  });
});
