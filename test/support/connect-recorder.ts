/**
 * node:net as it is, but with the options of every `connect()` recorded: for a test that checks
 * what a socket's owner asks of the kernel (TCP_NODELAY) while the connection stays real. Used
 * from a `vi.mock('node:net', …)` factory, with `asked` made by `vi.hoisted`:
 *
 *   const asked = vi.hoisted(() => [] as NetConnectOpts[]);
 *   vi.mock('node:net', async (real) =>
 *     (await import('../support/connect-recorder.ts')).recordingConnect(await real(), asked));
 */
import type * as net from 'node:net';

export function recordingConnect(real: typeof net, asked: net.NetConnectOpts[]): typeof net {
  return {
    ...real,
    connect: ((...args: unknown[]) => {
      // connect(options[, listener]) is recorded; connect(port, host) and connect(path) pass as they are.
      if (typeof args[0] === 'object') asked.push(args[0] as net.NetConnectOpts);
      return (real.connect as (...a: unknown[]) => net.Socket)(...args);
    }) as typeof net.connect,
  };
}
