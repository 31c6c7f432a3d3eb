/**
 * Second-level labels under which registrants get third-level names (a.example.co.jp belongs
 * to example.co.jp, not to co.jp). A small, deliberate list of the suffixes our customers sit
 * under, not the full Public Suffix List: a missing entry only makes a domain too wide, and
 * siteKey's egress address still keeps different companies apart.
 */
const TWO_LEVEL_SUFFIXES: ReadonlySet<string> = new Set([
  // Japan
  'co.jp',
  'ne.jp',
  'or.jp',
  'ac.jp',
  'go.jp',
  'ed.jp',
  'lg.jp',
  // United Kingdom
  'co.uk',
  'org.uk',
  'ac.uk',
  'gov.uk',
  'ltd.uk',
  'plc.uk',
  // Australia and New Zealand
  'com.au',
  'net.au',
  'org.au',
  'edu.au',
  'gov.au',
  'co.nz',
  'org.nz',
  // Elsewhere in Asia, Africa and the Americas
  'com.cn',
  'com.hk',
  'com.tw',
  'com.sg',
  'co.kr',
  'co.in',
  'co.za',
  'com.br',
  'com.mx',
]);

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * The seed's "identical domain": the registrable domain of a host name, lower-cased and without
 * a trailing dot (a.example.co.jp → example.co.jp, office1.acme.com → acme.com). An IP address
 * literal has no domain and is returned as it is.
 */
export function domainOf(hostOrDomain: string): string {
  const host = hostOrDomain.trim().toLowerCase().replace(/\.+$/, '');
  if (IPV4.test(host) || host.includes(':')) return host;
  const labels = host.split('.').filter((label) => label !== '');
  const lastTwo = labels.slice(-2).join('.');
  const keep = TWO_LEVEL_SUFFIXES.has(lastTwo) ? 3 : 2;
  return labels.slice(-keep).join('.');
}

/**
 * The key of a site: gateways of one domain behind one egress address share a middlebox (a
 * company's branches under one domain but on different lines do not).
 */
export function siteKey(domain: string, egressAddress: string | null): string {
  return `${domainOf(domain)}@${egressAddress === null ? '*' : egressAddress.trim().toLowerCase()}`;
}
