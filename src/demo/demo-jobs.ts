import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../clock/clock.ts';
import { SimMfp, type StoredJob } from '../sim/mfp/sim-mfp.ts';

const MB = 1024 * 1024;
/** Big enough that the slow demo line is still carrying job A when job B arrives. */
const DOC_A_BYTES = 6 * MB;
const DOC_B_BYTES = 2 * MB;
/** The demo's line to the cloud carries this many bytes/s each way: a small office uplink. */
export const DEMO_LINE_RATE = 2 * MB;
/** Job tunnels the demo's cloud allows the gateway at once: the second job forces a switch. */
export const DEMO_MAX_TUNNELS = 1;

/** A job as the cloud's API shows it (the fields the demo reads). */
interface JobView {
  id: string;
  state: string;
  bytes: { tunnel: number; direct: number };
  error: string | null;
}

/** How the demo's two print jobs ended, for the summary. */
export interface JobsOutcome {
  lines: string[];
  allDone: boolean;
}

const mb = (bytes: number) => `${(bytes / MB).toFixed(1).replace(/\.0$/, '')} MB`;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * Two simulated MFPs on loopback and the demo's two print jobs: job A for `mfp-3f` (it can
 * connect to the cloud by itself) goes through a tunnel; job B for `mfp-lobby` (it cannot)
 * needs the gateway's only tunnel, so the cloud switches job A to mfp-3f's own connection
 * mid-document (make-before-break, docs/jobs.md) and job B takes the tunnel.
 */
export class DemoPrinters {
  private readonly direct: SimMfp;
  private readonly lobby: SimMfp;
  private ports: { direct: number; lobby: number } = { direct: 0, lobby: 0 };
  private readonly stored = new Map<string, StoredJob>();

  constructor(dir: string) {
    for (const name of ['mfp-3f', 'mfp-lobby']) mkdirSync(join(dir, name), { recursive: true });
    this.direct = new SimMfp({ spoolDir: join(dir, 'mfp-3f'), directCapable: true });
    this.lobby = new SimMfp({ spoolDir: join(dir, 'mfp-lobby') });
    for (const mfp of [this.direct, this.lobby]) mfp.onJobStored((job) => this.stored.set(job.sha256, job));
  }

  /** Starts both MFPs' PJL ports on loopback. */
  async start(): Promise<void> {
    this.ports = { direct: await this.direct.listenPjl(0), lobby: await this.lobby.listenPjl(0) };
  }

  /** The gateway's `devices` config for the two MFPs. */
  devices(): unknown[] {
    return [
      { id: 'mfp-3f', driver: 'pjl', host: '127.0.0.1', port: this.ports.direct, directCapable: true },
      { id: 'mfp-lobby', driver: 'pjl', host: '127.0.0.1', port: this.ports.lobby },
    ];
  }

  async close(): Promise<void> {
    await Promise.all([this.direct.close(), this.lobby.close()]);
  }

  /**
   * Posts the two jobs through the cloud's API, as a print service would, and tells what
   * happens to them; resolves when both have ended (or the demo stops).
   */
  async run(
    api: { url: string; token: string; gatewayId: string },
    clock: Clock,
    say: (text: string) => void,
    stopped: () => boolean,
  ): Promise<JobsOutcome> {
    const pause = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
    const docA = randomBytes(DOC_A_BYTES);
    const docB = randomBytes(DOC_B_BYTES);
    const post = async (device: string, priority: number, doc: Buffer, name: string): Promise<JobView> => {
      const res = await fetch(
        `${api.url}/api/v1/jobs?gateway=${api.gatewayId}&device=${device}&priority=${priority}&name=${name}`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/pdf' },
          body: doc,
        },
      );
      const body = (await res.json()) as JobView & { message?: string };
      if (res.status !== 202)
        throw new Error(`the cloud refused job ${name}: ${res.status} ${body.message ?? ''}`);
      return body;
    };
    const get = async (id: string): Promise<JobView> =>
      (await (
        await fetch(`${api.url}/api/v1/jobs/${id}`, { headers: { authorization: `Bearer ${api.token}` } })
      ).json()) as JobView;

    say(
      `print job A: ${mb(DOC_A_BYTES)} for mfp-3f (it can also connect to the cloud by itself), low priority → through a tunnel on a push line`,
    );
    const a = await post('mfp-3f', 1, docA, 'job-a.pdf');
    let viewA = a;
    while (!stopped() && !['via-tunnel', 'done', 'failed'].includes(viewA.state)) {
      await pause(100);
      viewA = await get(a.id);
    }
    say(
      `print job B: ${mb(DOC_B_BYTES)} for mfp-lobby (tunnel only), high priority; the gateway may hold ${DEMO_MAX_TUNNELS} tunnel at a time → the cloud switches job A to direct`,
    );
    const b = await post('mfp-lobby', 5, docB, 'job-b.pdf');
    const last = new Map<string, string>([
      [a.id, viewA.state],
      [b.id, b.state],
    ]);
    const names = new Map([
      [a.id, 'A'],
      [b.id, 'B'],
    ]);
    const ended = new Map<string, JobView>();
    const startedAt = clock.now();
    while (!stopped() && ended.size < 2 && clock.now() - startedAt < 120_000) {
      await pause(100);
      for (const id of [a.id, b.id]) {
        if (ended.has(id)) continue;
        const view = await get(id);
        if (view.state === last.get(id)) continue;
        last.set(id, view.state);
        const name = names.get(id);
        if (view.state === 'switching')
          say(`job ${name}: mfp-3f is told to connect to the cloud by itself; the tunnel goes on meanwhile`);
        if (view.state === 'via-direct') {
          say(
            `job ${name}: switched to direct after ${mb(view.bytes.tunnel)} through the tunnel; the tunnel is free for job B`,
          );
        }
        if (view.state === 'via-tunnel' && id === b.id) say('job B: through the tunnel');
        if (view.state === 'done' || view.state === 'failed') ended.set(id, view);
        if (view.state === 'done') say(`job ${name}: printed (${this.how(view)})`);
        if (view.state === 'failed') say(`job ${name}: FAILED: ${view.error ?? 'no reason given'}`);
      }
    }
    const exact = (doc: Buffer) => this.stored.has(sha256(doc));
    const lineOf = (name: string, view: JobView | undefined, doc: Buffer) =>
      view
        ? `job ${name} ${view.state}: ${this.how(view)}${view.state === 'done' ? (exact(doc) ? ', byte-exact' : ', NOT byte-exact') : ''}`
        : `job ${name} not finished`;
    const viewsDone = [ended.get(a.id), ended.get(b.id)];
    return {
      lines: [lineOf('A', viewsDone[0], docA), lineOf('B', viewsDone[1], docB)],
      allDone: viewsDone.every((v) => v?.state === 'done') && exact(docA) && exact(docB),
    };
  }

  private how(view: JobView): string {
    const { tunnel, direct } = view.bytes;
    return direct > 0
      ? `${mb(tunnel)} through the tunnel + ${mb(direct)} direct`
      : `${mb(tunnel)} through the tunnel`;
  }
}
