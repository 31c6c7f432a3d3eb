import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import { TOPIC_ROOT } from '../../protocol/mqtt/topics.ts';
import { sameSecret } from '../../protocol/same-secret.ts';
import { type GatewayRegistry, tokenMatchesHash } from '../registry/gateway-registry.ts';

/** The user the cloud itself connects to its embedded broker as. */
export const CLOUD_MQTT_USER = 'mfp-cloud';

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  /** A gateway logs in with its id and token, checked against the registry at each login. */
  gateways: GatewayRegistry;
  /** The cloud's own password (user CLOUD_MQTT_USER). */
  cloudPassword: string;
}

/** A running in-process broker. */
export interface EmbeddedBroker {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** True when a topic (or filter) lies in the gateway's own subtree `mfpgw/{id}/…`. */
export function inGatewaySubtree(gatewayId: string, topic: string): boolean {
  return topic.startsWith(`${TOPIC_ROOT}/${gatewayId}/`);
}

/**
 * An aedes broker for demos and single-machine setups (MQTT 3.1.1 only): gateways log in with
 * their id and token and may only publish and subscribe in their own subtree, as the Mosquitto
 * ACL in docs/mqtt.md does for real deployments.
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const allowed = async (username: string | undefined, password: string): Promise<boolean> => {
    if (username === undefined) return false;
    if (username === CLOUD_MQTT_USER) return sameSecret(password, options.cloudPassword);
    const gateway = await options.gateways.get(username);
    return gateway !== undefined && !gateway.disabled && tokenMatchesHash(password, gateway.tokenHash);
  };
  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      allowed(username, password?.toString() ?? '').then(
        (ok) => {
          if (ok) {
            (client as unknown as { user: string }).user = username as string;
            done(null, true);
          } else {
            done(Object.assign(new Error('bad user name or password'), { returnCode: 4 as const }), false);
          }
        },
        (err: Error) => done(Object.assign(err, { returnCode: 3 as const }), false),
      );
    },
    authorizePublish: (client, packet, done) => {
      const user = (client as unknown as { user?: string } | null)?.user;
      if (!user || user === CLOUD_MQTT_USER || inGatewaySubtree(user, packet.topic)) done(null);
      else done(new Error(`gateway ${user} may not publish to ${packet.topic}`));
    },
    authorizeSubscribe: (client, sub, done) => {
      const user = (client as unknown as { user?: string }).user;
      if (user === CLOUD_MQTT_USER || (user && inGatewaySubtree(user, sub.topic))) done(null, sub);
      else done(new Error(`${user} may not subscribe to ${sub.topic}`));
    },
  });
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `mqtt://${options.host}:${port}`,
    port,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
