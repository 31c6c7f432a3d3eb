import type { FastifyInstance } from 'fastify';
import { MAX_PROXY_MESSAGE_BYTES } from '../../protocol/push-proxy/messages.ts';
import type { DevicePushDispatcher } from '../push-proxy/device-push.ts';
import type { ProxiedDevices } from '../push-proxy/proxied-devices.ts';
import type { GatewayRegistry } from '../registry/gateway-registry.ts';
import { parsePushBody } from './http-api.ts';

export interface DevicePushApiOptions {
  registry: GatewayRegistry;
  devices: ProxiedDevices;
  dispatcher: DevicePushDispatcher;
}

/** Largest payload (as JSON) a device push may carry: the message around it must fit one proxy message. */
export const MAX_DEVICE_PAYLOAD_BYTES = MAX_PROXY_MESSAGE_BYTES - 1024;

/** Pushes awaiting an answer per device; more are refused so memory stays bounded. */
export const MAX_DEVICE_PUSHES_IN_FLIGHT = 64;

/**
 * Pushes to LAN devices behind a gateway's push proxy (docs/push-proxy.md):
 * `POST /api/v1/gateways/{id}/devices/{device}/push` answers 200 delivered, 202 held for
 * the sleeping device, 404 for a device the gateway does not proxy, 413 for a payload over
 * what one proxy message carries, 503 otherwise.
 * Authentication is the API's (requireApiToken in api-auth.ts).
 */
export function registerDevicePushApi(app: FastifyInstance, options: DevicePushApiOptions): void {
  const inFlight = new Map<string, number>();
  app.post<{ Params: { id: string; device: string } }>(
    '/api/v1/gateways/:id/devices/:device/push',
    async (req, reply) => {
      const { id, device } = req.params;
      if (!(await options.registry.get(id))) {
        return reply.code(404).send({ error: 'not-found', message: 'no such gateway is registered' });
      }
      if (options.devices.knows(id, device) === false) {
        return reply.code(404).send({
          error: 'not-found',
          message: `gateway ${id} does not proxy device ${device}: add it to the gateway's pushProxy.devices`,
        });
      }
      const body = parsePushBody(req.body);
      if ('error' in body) return reply.code(400).send(body);
      const bytes = Buffer.byteLength(JSON.stringify(body.payload ?? null));
      if (bytes > MAX_DEVICE_PAYLOAD_BYTES) {
        return reply.code(413).send({
          error: 'payload-too-large',
          message: `a push to a proxied device carries at most ${MAX_DEVICE_PAYLOAD_BYTES} bytes of payload JSON, got ${bytes}`,
        });
      }
      const key = `${id}/${device}`;
      const busy = inFlight.get(key) ?? 0;
      if (busy >= MAX_DEVICE_PUSHES_IN_FLIGHT) {
        return reply.code(429).send({
          delivered: false,
          held: false,
          reason: `${busy} pushes to this device are already in flight; retry later`,
        });
      }
      inFlight.set(key, busy + 1);
      try {
        const result = await options.dispatcher.push(id, device, body.type, body.payload);
        if (result.delivered) return result;
        return reply.code(result.held ? 202 : 503).send(result);
      } finally {
        const left = (inFlight.get(key) ?? 1) - 1;
        if (left > 0) inFlight.set(key, left);
        else inFlight.delete(key);
      }
    },
  );
}
