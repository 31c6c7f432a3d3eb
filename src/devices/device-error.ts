/** Stable codes of every error a device driver reports; callers switch on these, never on messages. */
export const DEVICE_ERROR_CODES = [
  /** The device could not be reached (refused, no route, serial port missing or unplugged). */
  'MFP_DEV_ERR_UNREACHABLE',
  /** The device stopped answering within a bounded time. */
  'MFP_DEV_ERR_TIMEOUT',
  /** The device answered with bytes that do not parse as the protocol. */
  'MFP_DEV_ERR_MALFORMED_REPLY',
  /** The device understood the request and refused it (bad format, queue full, auth). */
  'MFP_DEV_ERR_REJECTED',
  /** The job was aborted or canceled (by the caller, the operator or the device). */
  'MFP_DEV_ERR_ABORTED',
  /** The line was lost after part of the document was sent; it is not resent, so nothing prints twice. */
  'MFP_DEV_ERR_INTERRUPTED',
  /** The driver was closed while the operation ran. */
  'MFP_DEV_ERR_CLOSED',
] as const;

export type DeviceErrorCode = (typeof DEVICE_ERROR_CODES)[number];

/** An error at a device protocol boundary: a value with a stable code and a message that says what to do. */
export class DeviceError extends Error {
  readonly code: DeviceErrorCode;
  /** Id of the device the error comes from. */
  readonly deviceId: string;

  constructor(code: DeviceErrorCode, deviceId: string, message: string, options?: { cause?: unknown }) {
    super(`${deviceId}: ${message}`, options);
    this.name = 'DeviceError';
    this.code = code;
    this.deviceId = deviceId;
  }
}

/** True when err is a DeviceError, optionally with the given code. */
export function isDeviceError(err: unknown, code?: DeviceErrorCode): err is DeviceError {
  return err instanceof DeviceError && (code === undefined || err.code === code);
}

/** Wraps a socket-level error (ECONNREFUSED, EHOSTUNREACH, ...) as UNREACHABLE unless it already is a DeviceError. */
export function asDeviceError(err: unknown, deviceId: string, what: string): DeviceError {
  if (err instanceof DeviceError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new DeviceError(
    'MFP_DEV_ERR_UNREACHABLE',
    deviceId,
    `${what}: ${detail}; check that the device is on and its address and port are right`,
    { cause: err },
  );
}
