import type { Readable } from 'node:stream';
import type { Clock } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import { clockDelay } from '../clock-delay.ts';
import type { DeviceDriver, DeviceStatus, PrintJob, PrintResult, SupplyLevel } from '../device-driver.ts';
import { DeviceError } from '../device-error.ts';
import { StatusTracker } from '../status-tracker.ts';
import {
  encodeMessage,
  findAttribute,
  GroupTag,
  type IppMessage,
  type IppOutAttribute,
  integerValue,
  stringValues,
  ValueTag,
} from './ipp-codec.ts';
import { ippExchange } from './ipp-transport.ts';
import {
  isSuccessStatus,
  isTerminalJobState,
  JobState,
  normalizeReason,
  Operation,
  PrinterState,
  statusName,
} from './ipp-vocabulary.ts';

export interface IppDriverOptions {
  id: string;
  /** e.g. ipp://printer.lan/ipp/print */
  printerUri: string;
  clock: Clock;
  logger?: Logger;
  /** How often Get-Job-Attributes asks about a running job (default 2 s). */
  pollIntervalMs?: number;
  /** Consecutive failed polls after which the job fails as unreachable (default 5). */
  maxPollFailures?: number;
  /** Socket idle time before a request fails as MFP_DEV_ERR_TIMEOUT (default 30 s). */
  requestTimeoutMs?: number;
  /** Largest IPP reply accepted (default 1 MiB). */
  maxResponseBytes?: number;
  /** requesting-user-name when the job names no user (default mfp-gateway). */
  userName?: string;
}

const DEFAULTS = {
  pollIntervalMs: 2000,
  maxPollFailures: 5,
  requestTimeoutMs: 30_000,
  maxResponseBytes: 1024 * 1024,
  userName: 'mfp-gateway',
};

const PRINTER_ATTRIBUTES = [
  'printer-state',
  'printer-state-reasons',
  'printer-state-message',
  'printer-is-accepting-jobs',
  'document-format-supported',
  'marker-names',
  'marker-levels',
];

const JOB_ATTRIBUTES = ['job-state', 'job-state-reasons', 'job-impressions-completed'];

/** A printer reached over IPP/1.1 (RFC 8011): Print-Job streamed, then polled until it is done. */
export class IppDriver implements DeviceDriver {
  readonly id: string;
  private readonly options: IppDriverOptions & typeof DEFAULTS;
  private readonly tracker: StatusTracker;
  private requestId = 1;
  private readonly closing = new AbortController();

  constructor(options: IppDriverOptions) {
    this.id = options.id;
    this.options = { ...DEFAULTS, ...options };
    this.tracker = new StatusTracker(options.clock);
  }

  async print(job: PrintJob, signal?: AbortSignal): Promise<PrintResult> {
    const combined = this.operationSignal(signal);
    const format = job.format ?? 'application/octet-stream';
    const { response, bytesSent } = await this.send(
      Operation.printJob,
      [
        ...this.targetAttributes(job.user),
        { name: 'job-name', tag: ValueTag.nameWithoutLanguage, values: [job.name ?? job.jobId] },
        { name: 'document-format', tag: ValueTag.mimeMediaType, values: [format] },
      ],
      job.document,
      combined,
    );
    this.expectSuccess(response, `Print-Job (${format})`);
    const ippJobId = integerValue(findAttribute(response, GroupTag.job, 'job-id'));
    if (ippJobId === undefined) {
      throw new DeviceError(
        'MFP_DEV_ERR_MALFORMED_REPLY',
        this.id,
        'Print-Job succeeded but the reply has no job-id',
      );
    }
    this.options.logger?.debug({ device: this.id, job: job.jobId, ippJobId, bytesSent }, 'ipp job accepted');
    // Given up on while the printer answered: the job is the printer's now, so cancel it there.
    if (combined.aborted) return this.cancelAfterAbort(ippJobId, combined);
    return this.waitForJob(ippJobId, bytesSent, combined);
  }

  async status(): Promise<DeviceStatus> {
    let response: IppMessage;
    try {
      ({ response } = await this.send(Operation.getPrinterAttributes, [
        ...this.targetAttributes(),
        { name: 'requested-attributes', tag: ValueTag.keyword, values: PRINTER_ATTRIBUTES },
      ]));
    } catch (err) {
      return this.tracker.observeFailure(err);
    }
    this.expectSuccess(response, 'Get-Printer-Attributes');
    const attr = (name: string) => findAttribute(response, GroupTag.printer, name);
    const printerState = integerValue(attr('printer-state'));
    if (printerState === undefined) {
      throw new DeviceError('MFP_DEV_ERR_MALFORMED_REPLY', this.id, 'printer attributes lack printer-state');
    }
    const reasons = stringValues(attr('printer-state-reasons'))
      .filter((r) => r !== 'none')
      .map(normalizeReason);
    const message = stringValues(attr('printer-state-message'))[0];
    return this.tracker.observe({
      state:
        printerState === PrinterState.stopped
          ? 'stopped'
          : printerState === PrinterState.processing
            ? 'printing'
            : 'idle',
      reasons,
      formats: stringValues(attr('document-format-supported')),
      supplies: supplies(stringValues(attr('marker-names')), attr('marker-levels')?.values ?? []),
      ...(message ? { message } : {}),
    });
  }

  /** Cancel-Job for a job id the printer gave; resolves when the printer accepted the cancel. */
  async cancel(ippJobId: number): Promise<void> {
    const { response } = await this.send(Operation.cancelJob, [
      ...this.targetAttributes(),
      { name: 'job-id', tag: ValueTag.integer, values: [ippJobId] },
    ]);
    this.expectSuccess(response, `Cancel-Job ${ippJobId}`);
  }

  async close(): Promise<void> {
    this.closing.abort(new DeviceError('MFP_DEV_ERR_CLOSED', this.id, 'driver closed'));
  }

  private async waitForJob(ippJobId: number, bytesSent: number, signal: AbortSignal): Promise<PrintResult> {
    let failures = 0;
    for (;;) {
      let response: IppMessage;
      try {
        ({ response } = await this.send(
          Operation.getJobAttributes,
          [
            ...this.targetAttributes(),
            { name: 'job-id', tag: ValueTag.integer, values: [ippJobId] },
            { name: 'requested-attributes', tag: ValueTag.keyword, values: JOB_ATTRIBUTES },
          ],
          undefined,
          signal,
        ));
        failures = 0;
      } catch (err) {
        if (signal.aborted) return this.cancelAfterAbort(ippJobId, signal);
        const transient =
          err instanceof DeviceError &&
          (err.code === 'MFP_DEV_ERR_UNREACHABLE' || err.code === 'MFP_DEV_ERR_TIMEOUT');
        if (!transient || ++failures >= this.options.maxPollFailures) throw err;
        await this.pause(signal, ippJobId);
        continue;
      }
      this.expectSuccess(response, `Get-Job-Attributes ${ippJobId}`);
      const state = integerValue(findAttribute(response, GroupTag.job, 'job-state'));
      if (state === undefined) {
        throw new DeviceError(
          'MFP_DEV_ERR_MALFORMED_REPLY',
          this.id,
          `job ${ippJobId} attributes lack job-state`,
        );
      }
      if (isTerminalJobState(state)) {
        const reasons = stringValues(findAttribute(response, GroupTag.job, 'job-state-reasons')).join(', ');
        if (state !== JobState.completed) {
          const verb = state === JobState.canceled ? 'canceled' : 'aborted';
          throw new DeviceError(
            'MFP_DEV_ERR_ABORTED',
            this.id,
            `printer ${verb} job ${ippJobId} (${reasons})`,
          );
        }
        const pages = integerValue(findAttribute(response, GroupTag.job, 'job-impressions-completed'));
        return {
          deviceJobId: String(ippJobId),
          bytesSent,
          completedAt: this.options.clock.now(),
          ...(pages !== undefined ? { pages } : {}),
        };
      }
      await this.pause(signal, ippJobId);
    }
  }

  private async pause(signal: AbortSignal, ippJobId: number): Promise<void> {
    try {
      await clockDelay(this.options.clock, this.options.pollIntervalMs, signal);
    } catch {
      await this.cancelAfterAbort(ippJobId, signal);
    }
  }

  /** The caller gave up on a job the printer holds: cancel it there too, then report the abort. */
  private async cancelAfterAbort(ippJobId: number, signal: AbortSignal): Promise<never> {
    const reason = signal.reason instanceof DeviceError ? signal.reason : undefined;
    try {
      await this.cancel(ippJobId);
    } catch (err) {
      this.options.logger?.warn({ device: this.id, ippJobId, err }, 'cancel after abort failed');
    }
    throw (
      reason ??
      new DeviceError('MFP_DEV_ERR_ABORTED', this.id, `job ${ippJobId} aborted; canceled at the printer`)
    );
  }

  private send(operation: number, attributes: IppOutAttribute[], document?: Readable, signal?: AbortSignal) {
    if (this.closing.signal.aborted) {
      return Promise.reject(new DeviceError('MFP_DEV_ERR_CLOSED', this.id, 'driver closed'));
    }
    const request = encodeMessage({
      code: operation,
      requestId: this.requestId++,
      groups: [{ tag: GroupTag.operation, attributes }],
    });
    return ippExchange(
      {
        deviceId: this.id,
        printerUri: this.options.printerUri,
        maxResponseBytes: this.options.maxResponseBytes,
        idleTimeoutMs: this.options.requestTimeoutMs,
      },
      request,
      document,
      signal ?? this.closing.signal,
    );
  }

  private targetAttributes(user?: string): IppOutAttribute[] {
    return [
      { name: 'attributes-charset', tag: ValueTag.charset, values: ['utf-8'] },
      { name: 'attributes-natural-language', tag: ValueTag.naturalLanguage, values: ['en'] },
      { name: 'printer-uri', tag: ValueTag.uri, values: [this.options.printerUri] },
      {
        name: 'requesting-user-name',
        tag: ValueTag.nameWithoutLanguage,
        values: [user ?? this.options.userName],
      },
    ];
  }

  private expectSuccess(response: IppMessage, what: string): void {
    if (isSuccessStatus(response.code)) return;
    const detail = stringValues(findAttribute(response, GroupTag.operation, 'status-message'))[0];
    throw new DeviceError(
      'MFP_DEV_ERR_REJECTED',
      this.id,
      `${what} refused: ${statusName(response.code)}${detail ? ` (${detail})` : ''}`,
    );
  }

  private operationSignal(signal?: AbortSignal): AbortSignal {
    return signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
  }
}

/** marker-levels are percents; -1, -2 and -3 mean unknown (RFC 3805 conventions, PWG 5100.13). */
function supplies(names: string[], levels: unknown[]): SupplyLevel[] | undefined {
  if (names.length === 0) return undefined;
  return names.map((name, i) => {
    const level = levels[i];
    return typeof level === 'number' && level >= 0
      ? { name, level, maxCapacity: 100, fraction: level / 100 }
      : { name };
  });
}
