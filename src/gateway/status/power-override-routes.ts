import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../../clock/clock.ts';
import type { Logger } from '../../log/logger.ts';
import type { OverrideResult, PowerState } from '../power/power-scheduler.ts';
import type { AuthGate } from './auth.ts';

/** Where the page's power override goes (the daemon's PowerScheduler). */
export interface PowerControl {
  setOverride(mode: string, untilMs: number): OverrideResult;
  clearOverride(): PowerState;
}

/** Longest override the page sets: a forgotten one must not outlive a holiday. */
export const MAX_OVERRIDE_MS = 31 * 24 * 3_600_000;

const overrideBody = z.strictObject({
  mode: z.string().min(1).max(64),
  forMs: z.number().int().positive().max(MAX_OVERRIDE_MS),
});

export interface PowerOverrideOptions {
  clock: Clock;
  logger: Logger;
  gate: AuthGate;
  /** With auth none there is no session to carry a CSRF token (labs only). */
  auth: 'password' | 'none';
  power: PowerControl;
  /** The power section changed: push it to the open pages. */
  onChange: () => void;
}

/** What both routes answer: the mode in force now and why. */
function answer(state: PowerState) {
  return {
    mode: state.mode.name,
    source: state.decision.source,
    overrideUntil: state.decision.overrideUntilMs,
    next: state.next,
  };
}

/**
 * The page's local power override (the MQTT command's local twin): `POST
 * /api/power-override` `{"mode", "forMs"}` forces a configured mode for a while, `DELETE`
 * gives the decision back to the schedules. Login and the session's CSRF token required.
 */
export function registerPowerOverride(app: FastifyInstance, options: PowerOverrideOptions): void {
  const { gate, power, clock, logger } = options;
  const csrfOk = (req: Parameters<AuthGate['checkCsrf']>[0], reply: Parameters<AuthGate['checkCsrf']>[1]) =>
    options.auth === 'none' || gate.checkCsrf(req, reply, 'session');

  app.post('/api/power-override', async (req, reply) => {
    if (!csrfOk(req, reply)) return reply;
    const body = overrideBody.safeParse(req.body);
    if (!body.success) {
      return reply.code(400).send({
        error: 'MFP_ERR_BAD_REQUEST',
        message: `send JSON {"mode": "<a configured mode>", "forMs": <whole ms, 1 … ${MAX_OVERRIDE_MS}>}`,
      });
    }
    const { mode, forMs } = body.data;
    const result = power.setOverride(mode, clock.now() + forMs);
    if (!result.ok) return reply.code(422).send({ error: result.code, message: result.message });
    logger.info({ client: req.ip, mode, forMs }, 'power mode overridden from the status page');
    options.onChange();
    return answer(result.state);
  });

  app.delete('/api/power-override', async (req, reply) => {
    if (!csrfOk(req, reply)) return reply;
    const state = power.clearOverride();
    logger.info({ client: req.ip, mode: state.mode.name }, 'power override ended from the status page');
    options.onChange();
    return answer(state);
  });
}
