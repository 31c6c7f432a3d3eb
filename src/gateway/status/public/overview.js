// @ts-check
// The overview: the gateway, the cloud, MQTT, pushes, each line, the host.
import { badge, byId, el, facts, labelCells, term } from './dom.js';
import { ago, bytes, duration, now, plural } from './format.js';
import { renderPower } from './power.js';

/**
 * @typedef {import('./types.js').Status} Status
 * @typedef {import('./types.js').Line} Line
 */

/**
 * A line's state in plain words, its badge's kind, and the technical state as the tooltip.
 * A probe line is cut by the firewall on purpose and closed when probing ends: neither is
 * an outage, so neither is red.
 * @param {Line} line
 * @returns {[string, string]}
 */
function lineState(line) {
  const probe = line.role === 'probe';
  switch (line.state) {
    case 'open':
      return [probe ? 'measuring' : 'connected', 'ok'];
    case 'connecting':
      return ['connecting', probe ? 'asleep' : 'warn'];
    case 'waiting':
      return probe ? ['cut on purpose, reopening', 'asleep'] : ['down, reconnecting', 'bad'];
    case 'auth-failed':
      return ['refused by the cloud', 'bad'];
    case 'stopped':
      return [probe ? 'finished' : 'stopped', 'asleep'];
    default:
      return ['not started', 'asleep'];
  }
}

/** @param {Line} line */
function lineName(line) {
  if (line.role === 'probe') {
    return term(
      [line.id, el('small', { class: 'message' }, 'test line: measures the firewall')],
      'probe line: the cloud idles it longer and longer until the firewall cuts it; its cuts are planned',
    );
  }
  return term(line.id, 'push line: the connection the cloud pushes print jobs over');
}

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
        ` ${cloud.url} · ${plural(cloud.linesUp, 'push line')} up${cloud.probing ? ' · measuring the firewall' : ''}`,
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
    ...lines.map((l) => {
      const [words, kind] = lineState(l);
      return el(
        'tr',
        { 'data-line': l.id, 'data-state': l.state, 'data-role': l.role },
        el('td', null, lineName(l)),
        el('td', null, el('span', { class: `badge ${kind}`, title: `state: ${l.state}` }, words)),
        el('td', null, l.state === 'open' && l.connectedSince ? duration(now() - l.connectedSince) : '—'),
        el('td', null, ago(l.lastTrafficAt)),
        el('td', null, l.reconnects),
        el(
          'td',
          null,
          l.keepaliveMs === null
            ? '—'
            : term(
                `every ${duration(l.keepaliveMs)}${l.limitedByPolicy ? ' (power mode)' : ''}`,
                l.limitedByPolicy ? 'the power policy keeps alive less often than the cloud advises' : null,
              ),
        ),
        // A probe line's last error is the planned cut: not shown in red.
        el('td', { class: l.role === 'probe' ? 'message' : 'error-text' }, l.lastError || ''),
      );
    }),
  );
  labelCells(byId('lines', HTMLTableElement));
  renderPower(status.power);
  const h = status.host;
  facts(byId('host-facts'), [
    [term('CPU load', 'load average over 1 minute, per core'), `${(h.cpuLoad * 100).toFixed(0)} % per core`],
    [
      'Memory',
      h.sharedProcess
        ? // The demo: the process also runs the cloud; its size would not be the gateway's.
          `${bytes(h.memory.freeBytes)} free of ${bytes(h.memory.totalBytes)} · the gateway’s own use is not shown: its process also runs ${h.sharedProcess}`
        : `${bytes(h.memory.rssBytes)} used by the gateway · ${bytes(h.memory.freeBytes)} free of ${bytes(h.memory.totalBytes)}`,
    ],
    ['Temperature', h.temperatureC === null ? 'not reported by this board' : `${h.temperatureC} °C`],
    [
      'Disk',
      h.disk ? `${bytes(h.disk.freeBytes)} free of ${bytes(h.disk.totalBytes)} (${h.disk.path})` : '—',
    ],
  ]);
}
