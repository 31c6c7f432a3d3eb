import { z } from 'zod';

/**
 * Management commands (cloud → gateway) and their replies, version 1: JSON bodies with an
 * `id` that names the reply. Transport-neutral: MQTT carries them today (`cmd/{name}` in,
 * `reply/{id}` out), and nothing here knows about topics or sockets.
 */

/** Largest command body either end accepts, bytes. */
export const MAX_COMMAND_BYTES = 16 * 1024;

/** A command id: safe as a topic level. */
export const commandId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'letters, digits, ".", "_", ":" or "-" (1–128 chars)');

const base = { id: commandId };

export const commandSchemas = {
  /** Reopen push lines now (all when connectionIds is omitted). */
  'restore-line': z.strictObject({
    ...base,
    connectionIds: z.array(z.string().min(1).max(64)).max(16).optional(),
  }),
  /** Re-read the config file: apply what can change live, name what needs a restart. */
  'reload-config': z.strictObject(base),
  /** Reply with the full status (link, power, telemetry). */
  'status-snapshot': z.strictObject(base),
  /** Force a power mode until an instant (ISO 8601) or for a duration (ms); mode null ends the override. */
  'set-power-override': z.union([
    z.strictObject({ ...base, mode: z.string().min(1).max(64), until: z.iso.datetime({ offset: true }) }),
    z.strictObject({ ...base, mode: z.string().min(1).max(64), forMs: z.number().int().positive() }),
    z.strictObject({ ...base, mode: z.null() }),
  ]),
  /** Seed 001's tunnel establishment (command 7D): open a tunnel for a job toward a LAN device. */
  'open-tunnel': z
    .strictObject({
      ...base,
      tunnelId: z.string().min(1).max(128),
      jobId: z.string().min(1).max(128).optional(),
      deviceId: z.string().min(1).max(128).optional(),
      host: z.string().min(1).max(253).optional(),
      port: z.number().int().min(1).max(65_535).optional(),
      priority: z.number().int().optional(),
    })
    .refine((c) => c.deviceId !== undefined || (c.host !== undefined && c.port !== undefined), {
      message: 'a target needs a deviceId, or a host and a port',
    }),
} as const;

export type CommandName = keyof typeof commandSchemas;
export type Command = {
  [K in CommandName]: { name: K; body: z.output<(typeof commandSchemas)[K]> };
}[CommandName];

/** Stable error codes of command replies. */
export type CommandErrorCode =
  | 'MFP_ERR_COMMAND_TOO_LARGE'
  | 'MFP_ERR_INVALID_JSON'
  | 'MFP_ERR_UNKNOWN_COMMAND'
  | 'MFP_ERR_INVALID_COMMAND'
  | 'MFP_ERR_NOT_SUPPORTED'
  | 'MFP_ERR_COMMAND_FAILED'
  | 'MFP_ERR_UNKNOWN_MODE'
  | 'MFP_ERR_OVERRIDE_EXPIRED'
  | 'MFP_ERR_CONFIG';

/** One problem of a config file a `reload-config` refused. */
export const configIssueSchema = z.strictObject({ key: z.string(), value: z.string(), expected: z.string() });

export const commandReplySchema = z.union([
  z.strictObject({ id: commandId, ok: z.literal(true), result: z.unknown().optional() }),
  z.strictObject({
    id: commandId.nullable(),
    ok: z.literal(false),
    code: z.string(),
    message: z.string(),
    /** With MFP_ERR_CONFIG: every problem of the file. */
    issues: z.array(configIssueSchema).optional(),
  }),
]);
export type CommandReply = z.output<typeof commandReplySchema>;

/** A command that could not be decoded: `id` when the body carried a usable one. */
export interface CommandRejection {
  id: string | null;
  code: CommandErrorCode;
  message: string;
}

const isName = (name: string): name is CommandName => Object.hasOwn(commandSchemas, name);

/** Decodes a command body received under a name; never throws. */
export function decodeCommand(
  name: string,
  body: Uint8Array,
): { ok: true; command: Command } | { ok: false; error: CommandRejection } {
  if (body.byteLength > MAX_COMMAND_BYTES) {
    const message = `command body of ${body.byteLength} bytes exceeds ${MAX_COMMAND_BYTES}`;
    return { ok: false, error: { id: null, code: 'MFP_ERR_COMMAND_TOO_LARGE', message } };
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return {
      ok: false,
      error: { id: null, code: 'MFP_ERR_INVALID_JSON', message: 'command body is not JSON' },
    };
  }
  const rawId = (json as { id?: unknown } | null)?.id;
  const id = commandId.safeParse(rawId).success ? (rawId as string) : null;
  if (!isName(name)) {
    const known = Object.keys(commandSchemas).join(', ');
    return {
      ok: false,
      error: { id, code: 'MFP_ERR_UNKNOWN_COMMAND', message: `unknown command "${name}"; known: ${known}` },
    };
  }
  const parsed = commandSchemas[name].safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || '(body)';
    return {
      ok: false,
      error: {
        id,
        code: 'MFP_ERR_INVALID_COMMAND',
        message: `${name}: ${where}: ${issue?.message ?? 'invalid'}`,
      },
    };
  }
  return { ok: true, command: { name, body: parsed.data } as Command };
}

/** Encodes a command body for sending. */
export function encodeCommand(command: Command): Buffer {
  return Buffer.from(JSON.stringify(command.body));
}
