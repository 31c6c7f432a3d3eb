import { Worker } from 'node:worker_threads';

/** What one checkpoint did (SQLite's `PRAGMA wal_checkpoint` answer). */
export interface CheckpointResult {
  /** 1 when a writer or reader kept it from finishing (a passive checkpoint never waits). */
  busy: number;
  /** Frames in the write-ahead log. */
  log: number;
  /** Frames of it now copied into the database file. */
  checkpointed: number;
}

/**
 * The worker's code, evaluated as a script (so it needs no file of its own beside the bundle):
 * its own connection to the file, one passive checkpoint per message.
 */
const WORKER_SOURCE = `
const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
const db = new DatabaseSync(workerData.path);
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
parentPort.on('message', () => {
  try {
    parentPort.postMessage({ ok: true, result: checkpoint.get() });
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String(err && err.message) });
  }
});
`;

interface Waiter {
  resolve: (result: CheckpointResult) => void;
  reject: (err: Error) => void;
}

type WorkerAnswer = { ok: true; result: CheckpointResult } | { ok: false; error: string };

/**
 * Copies an SQLite file's write-ahead log back into the file from a worker thread, every
 * everyMs, instead of in the commit that crosses wal_autocheckpoint: that copy writes every
 * page changed since the last one and waits for two fsyncs, which on a busy disk held the
 * event loop for 200 ms (bench:cloud, issue 14). The writer's connection raises its own
 * threshold far above what the worker lets the log reach. A passive checkpoint never waits for
 * readers or writers, and the writer goes on committing to the log meanwhile.
 */
export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly timer: NodeJS.Timeout;
  /** Callers the running checkpoint answers, and those who asked after it started (the next one answers them). */
  private answering: Waiter[] = [];
  private waiting: Waiter[] = [];
  private running = false;
  private stopped = false;
  private failed: ((err: Error) => void) | undefined;

  /** onError: the worker failed (the caller turns automatic checkpoints back on). */
  constructor(path: string, everyMs: number, onError: (err: Error) => void) {
    this.failed = onError;
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path } });
    this.worker.unref();
    this.worker.on('message', (answer: WorkerAnswer) => this.answered(answer));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => {
      if (!this.stopped) this.fail(new Error(`the checkpoint worker exited (${code})`));
    });
    this.timer = setInterval(() => {
      if (!this.running) this.next();
    }, everyMs).unref();
  }

  /** Runs a passive checkpoint now (after the one running, if any). */
  checkpoint(): Promise<CheckpointResult> {
    if (this.stopped) return Promise.reject(new Error('the checkpointer is stopped'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.running) this.next();
    });
  }

  /** Stops the worker (a checkpoint running finishes first); the writer's close checkpoints the rest. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    for (const w of [...this.answering.splice(0), ...this.waiting.splice(0)])
      w.reject(new Error('the checkpointer is stopped'));
    await this.worker.terminate();
  }

  private next(): void {
    this.running = true;
    this.answering = this.waiting.splice(0);
    this.worker.postMessage(null);
  }

  private answered(answer: WorkerAnswer): void {
    this.running = false;
    for (const w of this.answering.splice(0)) {
      if (answer.ok) w.resolve(answer.result);
      else w.reject(new Error(answer.error));
    }
    if (!answer.ok) this.fail(new Error(answer.error));
    else if (this.waiting.length > 0) this.next();
  }

  private fail(err: Error): void {
    if (this.stopped) return;
    const onError = this.failed;
    this.failed = undefined;
    void this.stop();
    onError?.(err);
  }
}
