import { describe, expect, it } from 'vitest';
import { FleetNodes } from '../../../src/cloud/cluster/fleet-nodes.ts';

describe('FleetNodes: what a node knows of the others', () => {
  it('asks a node it never heard of for its lines, once until the retry time', () => {
    const nodes = new FleetNodes();
    expect(nodes.heartbeat('b', 'i1', 0, 0)).toEqual({ forget: false, sync: true });
    expect(nodes.heartbeat('b', 'i1', 3, 1_000)).toEqual({ forget: false, sync: false });
    expect(nodes.heartbeat('b', 'i1', 3, 2_500)).toEqual({ forget: false, sync: true });
  });

  it('follows numbered events after a snapshot, and asks again after a gap', () => {
    const nodes = new FleetNodes();
    nodes.heartbeat('b', 'i1', 4, 0);
    nodes.synced('b', 'i1', 4);
    expect(nodes.event('b', 'i1', 5, 100)).toEqual({ forget: false, sync: false });
    expect(nodes.heartbeat('b', 'i1', 5, 200)).toEqual({ forget: false, sync: false });
    expect(nodes.event('b', 'i1', 7, 300)).toEqual({ forget: false, sync: true });
    expect(nodes.heartbeat('b', 'i1', 9, 400)).toEqual({ forget: false, sync: false });
  });

  it('forgets what a restarted node held (a new instance under the same name)', () => {
    const nodes = new FleetNodes();
    nodes.heartbeat('b', 'i1', 0, 0);
    nodes.synced('b', 'i1', 0);
    expect(nodes.heartbeat('b', 'i2', 0, 100)).toEqual({ forget: true, sync: true });
  });

  it('finds the nodes not heard from in time, and counts all as heard after a cut-off', () => {
    const nodes = new FleetNodes();
    nodes.heartbeat('b', 'i1', 0, 0);
    nodes.heartbeat('c', 'i1', 0, 4_000);
    expect(nodes.expire(1_000)).toEqual(['b']);
    expect(nodes.alive()).toEqual(['c']);
    nodes.heardAll(10_000);
    expect(nodes.expire(9_000)).toEqual([]);
    expect(nodes.remove('c')).toBe(true);
    expect(nodes.alive()).toEqual([]);
  });
});
