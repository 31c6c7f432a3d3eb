import { z } from 'zod';

/**
 * The job's own fields of a tunnel OPEN whose target names a device (docs/jobs.md), beside the
 * tunnel's (protocol/tunnel/target.ts): what the job is, the document's name, type and size, and
 * whether the stream is a command stream for a running job rather than its data.
 */
export const jobTargetSchema = z.object({
  /** A print, or a file for secure storage. */
  jobType: z.enum(['print', 'storage']).optional(),
  /** The document's name (a stored file's name) and MIME type. */
  name: z.string().min(1).max(255).optional(),
  format: z.string().min(1).max(127).optional(),
  /** The whole document's size in bytes, so the gateway can show progress and declare it. */
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  /**
   * A command stream for job `jobId` running on `deviceId`: its data is one CONNECT record
   * (seed 001's 7G), which so overtakes the job stream's data in flight.
   */
  command: z.enum(['connect']).optional(),
});

export type JobTarget = z.output<typeof jobTargetSchema>;

/** The job fields of a decoded OPEN target, or what is wrong with them (the OPEN is then refused). */
export function jobTargetOf(target: Record<string, unknown>): JobTarget | { problem: string } {
  const parsed = jobTargetSchema.safeParse(target);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  return { problem: `invalid job target: ${issue?.path.join('.') || '(target)'}: ${issue?.message}` };
}
