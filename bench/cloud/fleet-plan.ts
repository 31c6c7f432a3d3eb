/**
 * Who the simulated gateways are, derived from their index alone, so that the bench process
 * (which writes the cloud's config and history) and every load worker agree without passing
 * thousands of tokens around.
 */
import { createHmac } from 'node:crypto';
import { domainOf, siteKey } from '../../src/cloud/learning/domain.ts';

/** One simulated gateway, as the cloud knows it and as its hello names it. */
export interface SimGatewayIdentity {
  index: number;
  id: string;
  token: string;
  clientId: string;
  /** The host name it reports in its hello; gateways of one site share its registrable domain. */
  domain: string;
}

/** The address every simulated gateway connects from, hence the egress address the cloud sees. */
export const SIM_EGRESS_ADDRESS = '127.0.0.1';

/** Gateway number `index`: id gw-00042, a token keyed by the run's secret, site index / siteSize. */
export function simGateway(index: number, runSecret: string, siteSize: number): SimGatewayIdentity {
  const id = `gw-${String(index).padStart(5, '0')}`;
  const site = Math.floor(index / siteSize);
  return {
    index,
    id,
    token: createHmac('sha256', runSecret).update(id).digest('hex'),
    clientId: `00000000-0000-4000-8000-${index.toString(16).padStart(12, '0')}`,
    domain: `${id}.site-${String(site).padStart(5, '0')}.example`,
  };
}

/** The site key the cloud derives from the gateway's hello over loopback. */
export function simSiteKey(gateway: SimGatewayIdentity): string {
  return siteKey(domainOf(gateway.domain), SIM_EGRESS_ADDRESS);
}

/**
 * The cloud node that holds gateway `index`'s lines when the nodes share nothing: sites are
 * dealt to the nodes in turn, so a site's gateways stay together (peers on another node, with
 * another store, would not be peers).
 */
export function nodeOf(index: number, nodes: number, siteSize: number): number {
  return Math.floor(index / siteSize) % nodes;
}

/** Splits gateways 0..count-1 into `parts` contiguous ranges as even as possible, [start, end). */
export function splitRange(count: number, parts: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (let part = 0; part < parts; part++) {
    const start = Math.floor((part * count) / parts);
    const end = Math.floor(((part + 1) * count) / parts);
    if (end > start) ranges.push([start, end]);
  }
  return ranges;
}
