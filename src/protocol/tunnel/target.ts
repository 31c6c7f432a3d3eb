import { z } from 'zod';
import { TunnelFrameError } from './errors.ts';

const name = z.string().min(1).max(128);

/**
 * What an OPEN asks the acceptor to connect to: a device by id, or a host and port,
 * for one job, starting at `resumeOffset` of the job's bytes. Unknown fields are
 * ignored so later versions can add some.
 */
export const tunnelTargetSchema = z
  .object({
    jobId: name,
    deviceId: name.optional(),
    host: z.string().min(1).max(253).optional(),
    port: z.number().int().min(1).max(65_535).optional(),
    resumeOffset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    /** For device targets: what the job is (a print, or a file for secure storage). */
    jobType: z.enum(['print', 'storage']).optional(),
    /** For device targets: the document's name (a stored file's name) and MIME type. */
    name: z.string().min(1).max(255).optional(),
    format: z.string().min(1).max(127).optional(),
    /** For device targets: the whole document's size in bytes, so the gateway can show progress. */
    size: z.number().int().min(0).optional(),
    /** A stream the gateway opens for a LAN device's push connection (docs/push-proxy.md), not a job. */
    proxy: z.enum(['push']).optional(),
    /**
     * A command stream for job `jobId` running on `deviceId` (docs/jobs.md): its data is one
     * CONNECT record (seed 001's 7G), which so overtakes the job stream's data in flight.
     */
    command: z.enum(['connect']).optional(),
  })
  .refine((t) => t.deviceId !== undefined || (t.host !== undefined && t.port !== undefined), {
    message: 'a target needs a deviceId, or a host and a port',
  });

/** A parsed OPEN target descriptor. */
export type TunnelTarget = z.output<typeof tunnelTargetSchema>;

/** What a caller may pass to describe a target (resumeOffset defaults to 0). */
export type TunnelTargetInput = z.input<typeof tunnelTargetSchema>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Encodes a target as the UTF-8 JSON payload of an OPEN. */
export function encodeTarget(target: TunnelTargetInput): Buffer {
  return Buffer.from(JSON.stringify(target), 'utf8');
}

/** Parses an OPEN payload; a malformed one is a MFP_TUN_ERR_BAD_PAYLOAD. */
export function decodeTarget(payload: Uint8Array): TunnelTarget | TunnelFrameError {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(payload));
  } catch {
    return new TunnelFrameError('MFP_TUN_ERR_BAD_PAYLOAD', 'OPEN target is not UTF-8 JSON');
  }
  const parsed = tunnelTargetSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || '(target)';
    return new TunnelFrameError(
      'MFP_TUN_ERR_BAD_PAYLOAD',
      `invalid OPEN target: ${where}: ${issue?.message}`,
    );
  }
  return parsed.data;
}
