// @ts-check
// The LAN push proxy: hidden unless configured; its totals, then a row per proxied device.
import { badge, byId, el, empty, facts, nowrap, table } from './dom.js';
import { ago, bytes, duration } from './format.js';

/** @typedef {import('./types.js').PushProxy} PushProxy */

/** @type {Record<string, string>} */
const PROXIED_KINDS = { awake: 'ok', sleeping: 'asleep', gone: 'bad' };
/** @type {Record<string, string>} */
const UPSTREAM_TEXT = { up: '', opening: ' · cloud stream opening', down: ' · no cloud stream' };

/** @param {PushProxy | null} proxy */
export function renderPushProxy(proxy) {
  byId('push-proxy').hidden = !proxy;
  byId('push-proxy-nav').hidden = !proxy;
  if (!proxy) return;
  const { listening, held } = proxy;
  facts(byId('push-proxy-facts'), [
    [
      'Listening',
      listening
        ? `${listening.host}:${listening.port}`
        : el('span', null, badge('not listening', 'bad'), ' starting, or the port is taken (see the log)'),
    ],
    ['LAN keep-alive', `every ${duration(proxy.keepaliveMs)}`],
    ['Held', `${held.pushes} push${held.pushes === 1 ? '' : 'es'} (${bytes(held.bytes)})`],
    ['Bytes', `${bytes(proxy.bytes.lan)} on the LAN · ${bytes(proxy.bytes.cloud)} to and from the cloud`],
    [
      'Refused',
      proxy.refused
        ? `${proxy.refused} connection${proxy.refused === 1 ? '' : 's'} (wrong token, unknown device or bad hello; see the log)`
        : 'none',
    ],
  ]);
  byId('proxied-list').replaceChildren(
    proxy.devices.length === 0
      ? empty('No devices configured for the proxy.')
      : table(
          ['device', 'state', 'held now', 'delivered / held', 'keep-alive', 'last seen', 'bytes'],
          proxy.devices.map((d) =>
            el(
              'tr',
              { 'data-proxied': d.id, 'data-state': d.state, 'data-held': d.held },
              el(
                'td',
                null,
                d.id,
                el('small', { class: 'message' }, [d.remoteAddress, d.software].filter(Boolean).join(' · ')),
              ),
              el(
                'td',
                null,
                badge(d.state, PROXIED_KINDS[d.state] || 'warn'),
                el('small', { class: 'message' }, `${ago(d.since)}${UPSTREAM_TEXT[d.upstream] || ''}`),
              ),
              nowrap(d.held),
              el(
                'td',
                { class: 'nowrap' },
                `${d.pushes.delivered} / ${d.pushes.held}`,
                d.pushes.expired || d.pushes.refused
                  ? el(
                      'small',
                      { class: 'message' },
                      `${d.pushes.expired} expired · ${d.pushes.refused} refused`,
                    )
                  : null,
              ),
              el(
                'td',
                { class: 'nowrap' },
                `every ${duration(d.keepaliveMs)}`,
                el(
                  'small',
                  { class: 'message' },
                  `${d.keepalives} received${d.shortestGapMs === null ? '' : ` · shortest gap ${duration(d.shortestGapMs)}`}`,
                ),
              ),
              nowrap(ago(d.lastSeenAt)),
              el(
                'td',
                { class: 'nowrap' },
                `${bytes(d.bytes.lan)} LAN`,
                el('small', { class: 'message' }, `${bytes(d.bytes.cloud)} cloud`),
              ),
            ),
          ),
        ),
  );
}
