/** IPP operation ids (RFC 8011 §5.4.15). */
export const Operation = {
  printJob: 0x0002,
  cancelJob: 0x0008,
  getJobAttributes: 0x0009,
  getPrinterAttributes: 0x000b,
} as const;

/** job-state enum (RFC 8011 §5.3.7). */
export const JobState = {
  pending: 3,
  pendingHeld: 4,
  processing: 5,
  processingStopped: 6,
  canceled: 7,
  aborted: 8,
  completed: 9,
} as const;

/** printer-state enum (RFC 8011 §5.4.11). */
export const PrinterState = {
  idle: 3,
  processing: 4,
  stopped: 5,
} as const;

/** True for job states after which the job never changes again. */
export function isTerminalJobState(state: number): boolean {
  return state === JobState.canceled || state === JobState.aborted || state === JobState.completed;
}

/** successful-ok .. successful-ok-events-complete (0x0000–0x00ff). */
export function isSuccessStatus(status: number): boolean {
  return status <= 0x00ff;
}

const STATUS_NAMES: Record<number, string> = {
  1024: 'client-error-bad-request',
  1025: 'client-error-forbidden',
  1026: 'client-error-not-authenticated',
  1027: 'client-error-not-authorized',
  1028: 'client-error-not-possible',
  1029: 'client-error-timeout',
  1030: 'client-error-not-found',
  1031: 'client-error-gone',
  1032: 'client-error-request-entity-too-large',
  1034: 'client-error-document-format-not-supported',
  1035: 'client-error-attributes-or-values-not-supported',
  1280: 'server-error-internal-error',
  1281: 'server-error-operation-not-supported',
  1282: 'server-error-service-unavailable',
  1283: 'server-error-version-not-supported',
  1286: 'server-error-not-accepting-jobs',
  1287: 'server-error-busy',
  1288: 'server-error-job-canceled',
};

/** The RFC 8011 keyword of a status code, for messages a user can look up. */
export function statusName(status: number): string {
  return STATUS_NAMES[status] ?? `status 0x${status.toString(16).padStart(4, '0')}`;
}

/** Printer-state-reasons carry a severity suffix (-report, -warning, -error) that our reasons drop. */
export function normalizeReason(reason: string): string {
  return reason.replace(/-(report|warning|error)$/, '');
}
