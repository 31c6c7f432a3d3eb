/** The poller of @serialport/bindings-cpp's Linux/macOS port binding, as far as we touch it. */
interface PortPoller {
  poll(eventFlag?: number): void;
  listenerCount(event: string): number;
}

/** libuv's poll flags, as the binding's poller takes them. */
const READABLE = 0b001;
const WRITABLE = 0b010;
const DISCONNECT = 0b100;

const fixed = new WeakSet<object>();

/**
 * Works around a hang in @serialport/bindings-cpp 13 (src/poller.cpp): `Poller::poll` restarts
 * the fd's uv_poll with only the event asked for last, dropping the others. The binding reads
 * all the time, so a write that met EAGAIN (a full pty or UART buffer) and waits for
 * "writable" loses that wait as soon as the reader waits for "readable" again — and if the
 * device says nothing until it has the whole document, the job never moves again (a print
 * job stuck with its bytes queued, found under load in the device-jobs test). Asking the
 * poller for every event someone still waits for, each time, keeps both waits alive.
 * There is no fixed release to move to; this is the smallest change that keeps the library.
 * Call it once the port is open (no-op for ports without such a poller, e.g. the mock).
 */
export function pollBothWays(port: { port?: unknown }): void {
  const poller = (port.port as { poller?: PortPoller } | undefined)?.poller;
  if (!poller || typeof poller.poll !== 'function' || fixed.has(poller)) return;
  fixed.add(poller);
  const poll = poller.poll.bind(poller);
  poller.poll = (eventFlag = 0) => {
    let flags = eventFlag;
    if (poller.listenerCount('readable') > 0) flags |= READABLE;
    if (poller.listenerCount('writable') > 0) flags |= WRITABLE;
    if (poller.listenerCount('disconnect') > 0) flags |= DISCONNECT;
    poll(flags);
  };
}
