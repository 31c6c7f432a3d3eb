/**
 * A TCP sink standing in for a LAN device in the benchmarks: counts the bytes of each
 * connection and, once the sender has ended, answers the count and closes. It runs in
 * its own process so that the receiving end's work is not charged to the sender.
 *
 *   node bench/support/byte-sink.ts     prints {"port": N} once listening
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { reapOnExit } from '../../test/support/reap-on-exit.ts';

/** A running sink process. */
export interface ByteSink {
  readonly port: number;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts the sink in a child process on a free loopback port. */
export async function startByteSink(): Promise<ByteSink> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  reapOnExit(child);
  const exited = once(child, 'exit');
  const [line] = (await Promise.race([
    once(createInterface({ input: child.stdout as Readable }), 'line'),
    exited.then(() => {
      throw new Error('the byte sink exited before it listened');
    }),
  ])) as [string];
  const { port } = JSON.parse(line) as { port: number };
  return {
    port,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill();
      await exited;
    },
  };
}

/** Resolves with the count the sink answers once it has seen the end of the stream. */
export function receipt(stream: Readable): Promise<number> {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return once(stream, 'end').then(() => Number(Buffer.concat(chunks).toString()));
}

function serve(): void {
  const server = createServer((socket) => {
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    socket.on('end', () => socket.end(`${bytes}\n`));
    socket.on('error', () => socket.destroy());
  });
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
  });
}

if (import.meta.main) serve();
