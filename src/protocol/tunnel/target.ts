import { z } from 'zod';
import { TunnelFrameError } from './errors.ts';

const name = z.string().min(1).max(128);

/**
 * What an OPEN asks the acceptor to connect to: a device by id, or a host and port, for one
 * job, starting at `resumeOffset` of the job's bytes. This layer knows nothing of what the
 * stream is for: the layers above put their own fields beside these and check them where
 * they are used (protocol/job/job-target.ts: the job's type, name, size and commands;
 * protocol/push-proxy/proxy-target.ts: a device's push stream). Unknown fields pass through,
 * so later versions can add some.
 */
export const tunnelTargetSchema = z
  .looseObject({
    jobId: name,
    deviceId: name.optional(),
    host: z.string().min(1).max(253).optional(),
    port: z.number().int().min(1).max(65_535).optional(),
    resumeOffset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
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
