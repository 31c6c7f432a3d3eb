/**
 * The push proxy's field of a tunnel OPEN (docs/push-proxy.md), beside the tunnel's own
 * (protocol/tunnel/target.ts): a stream the gateway opens for a LAN device's push connection,
 * not for a job.
 */
export type PushProxyTarget = {
  jobId: string;
  deviceId: string;
  proxy: 'push';
};

/** The OPEN target of device `deviceId`'s push stream. */
export function pushProxyTarget(deviceId: string): PushProxyTarget {
  return { jobId: `push-proxy:${deviceId}`, deviceId, proxy: 'push' };
}

/** Whether a decoded OPEN target is a device's push stream. */
export function isPushProxyStream(target: Record<string, unknown>): boolean {
  return target.proxy === 'push';
}
