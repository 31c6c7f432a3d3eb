// @ts-check
// The overview: the gateway, the cloud, MQTT, pushes, each push line, the host.
import { badge, byId, el, facts } from './dom.js';
import { ago, bytes, duration, now } from './format.js';
import { renderPower } from './power.js';

/** @typedef {import('./types.js').Status} Status */

/** @param {Status} status */
export function renderOverview(status) {
  const { gateway, cloud, mqtt, lines, pushes } = status;
  byId('gateway-id').textContent = gateway.id;
  document.title = `${gateway.id} · mfp-gateway`;
  facts(byId('overview-facts'), [
    ['Gateway', `${gateway.id} (software ${gateway.version})`],
    ['Up', duration(now() - gateway.startedAt)],
    [
      'Cloud',
      el(
        'span',
        null,
        cloud.reachable ? badge('reachable', 'ok') : badge('not reachable', 'bad'),
        ` ${cloud.url} · ${cloud.linesUp} push line${cloud.linesUp === 1 ? '' : 's'} up${cloud.probing ? ' · probing' : ''}`,
      ),
    ],
    [
      'MQTT',
      mqtt
        ? el(
            'span',
            null,
            mqtt.connected ? badge('connected', 'ok') : badge('down', 'bad'),
            ` ${mqtt.broker}`,
          )
        : 'not configured',
    ],
    ['Pushes received', `${pushes.websocket} over WebSocket, ${pushes.mqtt} over MQTT`],
  ]);
  byId('lines-body').replaceChildren(
    ...lines.map((l) =>
      el(
        'tr',
        { 'data-line': l.id, 'data-state': l.state },
        el('td', null, l.role === 'probe' ? `${l.id} (probe)` : l.id),
        el('td', null, badge(l.state, l.state === 'open' ? 'ok' : l.state === 'connecting' ? 'warn' : 'bad')),
        el('td', null, l.state === 'open' ? ago(l.connectedSince) : '—'),
        el('td', null, ago(l.lastTrafficAt)),
        el('td', null, l.reconnects),
        el(
          'td',
          null,
          l.keepaliveMs === null
            ? '—'
            : duration(l.keepaliveMs) + (l.limitedByPolicy ? ' (power policy)' : ''),
        ),
        el('td', { class: 'error-text' }, l.lastError || ''),
      ),
    ),
  );
  renderPower(status.power);
  const h = status.host;
  facts(byId('host-facts'), [
    ['CPU load', `${(h.cpuLoad * 100).toFixed(0)} % per core (1 min)`],
    [
      'Memory',
      `${bytes(h.memory.rssBytes)} used by the gateway · ${bytes(h.memory.freeBytes)} free of ${bytes(h.memory.totalBytes)}`,
    ],
    ['Temperature', h.temperatureC === null ? 'not reported by this board' : `${h.temperatureC} °C`],
    [
      'Disk',
      h.disk ? `${bytes(h.disk.freeBytes)} free of ${bytes(h.disk.totalBytes)} (${h.disk.path})` : '—',
    ],
  ]);
}
