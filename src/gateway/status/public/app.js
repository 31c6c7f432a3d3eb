// The status page: one WebSocket brings a snapshot, then patches; everything is drawn from
// `state`. No framework, no polling.

(() => {
  const $ = (id) => document.getElementById(id);
  const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
  const MAX_LOG_LINES = 500;

  let state = null;
  /** Server time minus browser time, so "5 s ago" is right even when the clocks differ. */
  let clockOffset = 0;
  let chart = null;
  let retryMs = 1000;

  // ---- formatting ---------------------------------------------------------------------

  function duration(ms) {
    if (ms === null || ms === undefined) return '—';
    const s = Math.round(ms / 1000);
    if (s < 120) return ms < 10_000 && ms % 1000 ? `${(ms / 1000).toFixed(1)} s` : `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 120) return `${m} min ${s % 60 ? `${s % 60} s` : ''}`.trim();
    const h = Math.floor(m / 60);
    if (h < 48) return `${h} h ${m % 60 ? `${m % 60} min` : ''}`.trim();
    return `${Math.floor(h / 24)} d ${h % 24} h`;
  }
  const now = () => Date.now() + clockOffset;
  const ago = (t) => (t ? `${duration(Math.max(0, now() - t))} ago` : '—');
  const time = (t) => (t ? new Date(t).toLocaleString() : '—');
  function bytes(n) {
    if (n === null || n === undefined) return '—';
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
  }
  const pct = (x) => `${Math.floor(x * 100)} %`;
  /** A job id short enough for a phone's table; the whole one is its tooltip and in the logs. */
  const jobCell = (id, ...more) =>
    el('td', { title: id }, id.length > 12 ? `${id.slice(0, 8)}…` : id, ...more);
  const nowrap = (text) => el('td', { class: 'nowrap' }, text);
  const ADVICE_SOURCES = {
    default: 'default (nothing learned yet)',
    history: 'this gateway’s own history',
    domain: 'the domain’s shared history',
    probe: 'probing',
  };

  // ---- DOM helpers --------------------------------------------------------------------

  /** el('td', {class: 'x'}, 'text', child) — text is always set as text, never as HTML. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    }
    return node;
  }
  function facts(target, pairs) {
    target.replaceChildren(...pairs.flatMap(([k, v]) => [el('dt', null, k), el('dd', null, v)]));
  }
  const badge = (text, kind) => el('span', { class: `badge ${kind}` }, text);
  const empty = (text) => el('p', { class: 'empty' }, text);

  // ---- sections -----------------------------------------------------------------------

  function renderOverview() {
    const { gateway, cloud, mqtt, lines, pushes } = state;
    $('gateway-id').textContent = gateway.id;
    document.title = `${gateway.id} · mfp-gateway`;
    facts($('overview-facts'), [
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
    $('lines')
      .querySelector('tbody')
      .replaceChildren(
        ...lines.map((l) =>
          el(
            'tr',
            { 'data-line': l.id, 'data-state': l.state },
            el('td', null, l.role === 'probe' ? `${l.id} (probe)` : l.id),
            el(
              'td',
              null,
              badge(l.state, l.state === 'open' ? 'ok' : l.state === 'connecting' ? 'warn' : 'bad'),
            ),
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
    renderPower();
    const h = state.host;
    facts($('host-facts'), [
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

  const POWER_SOURCES = { base: 'the base mode', schedule: 'the schedule' };

  /** The mode in force, why, the next change, and the override form (its choices kept while unchanged). */
  function renderPower() {
    const p = state.power;
    const shown = $('power-now');
    shown.dataset.mode = p.mode;
    shown.dataset.source = p.source;
    shown.replaceChildren(
      el('strong', null, p.mode),
      p.source === 'override'
        ? ` — overridden until ${time(p.overrideUntil)}`
        : ` — from ${POWER_SOURCES[p.source] || p.source}`,
      p.next ? ` · next: ${p.next.mode} at ${time(p.next.at)}` : ' · no change scheduled',
    );
    $('power-override').hidden = !p.canOverride;
    $('power-clear').hidden = p.source !== 'override';
    const select = $('power-mode');
    if ([...select.options].map((o) => o.value).join() !== p.modes.join()) {
      select.replaceChildren(...p.modes.map((m) => el('option', { value: m }, m)));
      select.value = p.modes.find((m) => m !== p.mode) || p.mode;
    }
  }

  const csrfToken = () => document.querySelector('#logout input[name="_csrf"]').value;

  /** Sets or ends the override; the new mode arrives with the next live patch. */
  async function powerOverride(method, body) {
    const message = $('power-message');
    message.textContent = '';
    try {
      const res = await fetch('/api/power-override', {
        method,
        cache: 'no-store',
        headers: { 'x-csrf-token': csrfToken(), ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      if (res.ok) return;
      if (res.status === 401) {
        location.href = '/login';
        return;
      }
      let reason = 'refused: reload the page and try again';
      if (res.status !== 403) reason = (await res.json().catch(() => ({}))).message || `HTTP ${res.status}`;
      message.textContent = `Not changed: ${reason}`;
    } catch {
      message.textContent = 'The gateway did not answer; try again.';
    }
  }

  function renderKeepalive() {
    const { advice, effectiveMs, limitedByPolicy, drops } = state.keepalive;
    const power = state.power;
    const source = advice ? ADVICE_SOURCES[advice.source] || advice.source : 'waiting for the cloud';
    facts($('keepalive-facts'), [
      ['In use', duration(effectiveMs)],
      [
        'Comes from',
        limitedByPolicy
          ? `power policy: mode ${power.mode} keeps alive at most every ${duration(power.minIntervalMs)} (cloud advises ${duration(advice?.intervalMs)} from ${source})`
          : `the cloud's advice, learned from ${source}`,
      ],
      [
        'Learned bounds',
        advice
          ? `${duration(advice.lowerBoundMs)} (L, worked) < timeout ≤ ${duration(advice.upperBoundMs)} (U, failed)`
          : '—',
      ],
      ['Lifetime cap', advice?.lifetimeCapMs ? duration(advice.lifetimeCapMs) : 'none seen'],
      ['Converged', advice ? (advice.converged ? 'yes' : 'not yet') : '—'],
      ['Drops', String(drops)],
    ]);
    renderChart();
  }

  /** The interval advised and in use, stepped, and the drops as a running count. */
  function chartData() {
    const events = [
      ...state.history.points.map((p) => ({ at: p.at, point: p })),
      ...state.history.drops.map((d) => ({ at: d.at, drop: d })),
    ].sort((a, b) => a.at - b.at);
    const x = [];
    const advised = [];
    const inUse = [];
    const dropped = [];
    let last = null;
    let count = 0;
    for (const e of events) {
      if (e.point) last = e.point;
      if (e.drop) count++;
      x.push(e.at / 1000);
      advised.push(last && last.adviceMs !== null ? last.adviceMs / 1000 : null);
      inUse.push(last && last.effectiveMs !== null ? last.effectiveMs / 1000 : null);
      dropped.push(count);
    }
    return [x, advised, inUse, dropped];
  }

  function renderChart() {
    const box = $('chart');
    const data = chartData();
    box.dataset.points = String(data[0].length);
    if (!window.uPlot) return;
    const width = Math.max(280, box.clientWidth);
    if (!chart) {
      const stepped = window.uPlot.paths.stepped({ align: 1 });
      chart = new window.uPlot(
        {
          width,
          height: 240,
          // Log scale: intervals run from seconds (a strict NAT) to a week (the probe ladder's top).
          scales: {
            x: { time: true },
            s: { distr: 3 },
            drops: { range: (_u, _min, max) => [0, Math.max(1, max)] },
          },
          series: [
            {},
            { label: 'advised (s)', stroke: '#2563eb', width: 2, paths: stepped, scale: 's' },
            { label: 'in use (s)', stroke: '#16a34a', width: 2, dash: [6, 4], paths: stepped, scale: 's' },
            {
              label: 'drops',
              stroke: '#dc2626',
              width: 1,
              paths: stepped,
              scale: 'drops',
              points: { show: true },
            },
          ],
          axes: [
            {},
            { scale: 's', label: 'interval (s)' },
            { scale: 'drops', side: 1, label: 'drops', grid: { show: false } },
          ],
        },
        data,
        box,
      );
    } else {
      chart.setData(data);
    }
  }

  /** A table with a header row, scrolling sideways on a phone. */
  function table(headers, rows) {
    return el(
      'div',
      { class: 'scroll' },
      el(
        'table',
        null,
        el(
          'thead',
          null,
          el(
            'tr',
            null,
            headers.map((h) => el('th', null, h)),
          ),
        ),
        el('tbody', null, rows),
      ),
    );
  }

  const DEVICE_KINDS = { idle: 'ok', printing: 'ok', stopped: 'warn', unknown: 'warn', offline: 'bad' };

  function supplies(list) {
    if (!list.length) return '—';
    return list.map((x) =>
      el(
        'span',
        { class: 'supply' },
        `${x.name} `,
        x.percent === null
          ? '?'
          : [
              el('meter', { min: 0, max: 100, low: 16, high: 40, optimum: 100, value: x.percent }),
              ` ${x.percent} %`,
            ],
      ),
    );
  }

  function renderDevices() {
    const list = state.devices;
    $('device-list').replaceChildren(
      list.length === 0
        ? empty('No devices configured yet.')
        : table(
            ['device', 'state', 'reasons', 'pages', 'toner', 'last seen'],
            list.map((d) =>
              el(
                'tr',
                { 'data-device': d.id, 'data-state': d.state },
                el(
                  'td',
                  null,
                  d.id,
                  el('small', null, ` ${d.driver}${d.directCapable ? ', direct-capable' : ''}`),
                ),
                el(
                  'td',
                  null,
                  badge(d.state, DEVICE_KINDS[d.state] || 'warn'),
                  d.since && d.state !== 'unknown' ? el('small', null, ` ${ago(d.since)}`) : null,
                ),
                el(
                  'td',
                  null,
                  d.reasons.join(', ') || '—',
                  d.message ? el('small', { class: 'message' }, d.message) : null,
                ),
                nowrap(d.pageCount === null ? '—' : d.pageCount.toLocaleString()),
                el('td', null, supplies(d.supplies)),
                nowrap(ago(d.lastSeenAt)),
              ),
            ),
          ),
    );
  }

  const OUTCOME_KINDS = {
    running: 'warn',
    waiting: 'warn',
    done: 'ok',
    switched: 'ok',
    failed: 'bad',
    interrupted: 'bad',
  };

  function jobProgress(j) {
    const amount = `${bytes(j.bytes)}${j.size === null ? '' : ` of ${bytes(j.size)}`}`;
    if (j.outcome !== 'running' && j.outcome !== 'waiting') {
      return `${amount}${j.pages ? ` · ${j.pages} page${j.pages === 1 ? '' : 's'}` : ''}`;
    }
    // The bar counts what the gateway took from the cloud; the device may still be reading it.
    const note = j.progress === 1 ? ' · all here, the device is still taking it' : '';
    return [
      // Without a size (an older cloud) the bar is indeterminate.
      el('progress', { max: 1, value: j.progress === null ? null : j.progress }),
      ` ${j.progress === null ? '' : `${pct(j.progress)} · `}${amount}${note}`,
    ];
  }

  function renderTunnelsAndJobs() {
    const { tunnels, jobs } = state;
    $('tunnel-list').replaceChildren(
      tunnels.length === 0
        ? empty('No tunnels open.')
        : table(
            ['job', 'to', 'to device', 'back', 'rate', 'open'],
            tunnels.map((t) =>
              el(
                'tr',
                { 'data-tunnel': t.id, 'data-job': t.jobId },
                jobCell(t.jobId),
                el('td', null, t.deviceId || t.target),
                nowrap(bytes(t.bytesToDevice)),
                nowrap(bytes(t.bytesFromDevice)),
                nowrap(`${bytes(t.rateBps)}/s`),
                nowrap(ago(t.openedAt)),
              ),
            ),
          ),
    );
    $('job-list').replaceChildren(
      jobs.length === 0
        ? empty('No jobs yet.')
        : table(
            ['job', 'device', 'route', 'progress', 'outcome'],
            jobs.map((j) =>
              el(
                'tr',
                {
                  'data-job': j.id,
                  'data-outcome': j.outcome,
                  'data-route': j.route.join('>'),
                  'data-progress': j.progress === null ? null : j.progress,
                },
                jobCell(j.id, el('small', { class: 'message' }, ago(j.startedAt))),
                el('td', null, j.deviceId),
                el('td', { class: 'route' }, j.route.join(' → ')),
                el('td', null, jobProgress(j)),
                el(
                  'td',
                  null,
                  badge(j.outcome, OUTCOME_KINDS[j.outcome] || 'warn'),
                  j.reason ? ` ${j.reason}` : '',
                ),
              ),
            ),
          ),
    );
  }

  const PROXIED_KINDS = { awake: 'ok', sleeping: 'asleep', gone: 'bad' };
  const UPSTREAM_TEXT = { up: '', opening: ' · cloud stream opening', down: ' · no cloud stream' };

  /** The LAN push proxy: hidden unless configured; its totals, then a row per proxied device. */
  function renderPushProxy() {
    const proxy = state.pushProxy;
    $('push-proxy').hidden = !proxy;
    $('push-proxy-nav').hidden = !proxy;
    if (!proxy) return;
    const { listening, held } = proxy;
    facts($('push-proxy-facts'), [
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
    $('proxied-list').replaceChildren(
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
                  el(
                    'small',
                    { class: 'message' },
                    [d.remoteAddress, d.software].filter(Boolean).join(' · '),
                  ),
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

  /** Syslog severities (0 emergency … 7 debug) as the page's levels. */
  const SEVERITY_LEVELS = ['fatal', 'fatal', 'fatal', 'error', 'warn', 'info', 'info', 'debug'];

  /** The daemon's lines and the journal's tunnel records and device logs, as one list. */
  function logRows() {
    const rows = state.logs.map((l) => ({
      source: 'gateway',
      time: l.time,
      level: l.level,
      text: `${l.msg} ${Object.keys(l.fields).length ? JSON.stringify(l.fields) : ''}`,
    }));
    for (const t of state.journal.tunnels) {
      rows.push({
        source: 'tunnel',
        time: t.closedAt,
        level: t.outcome === 'done' || t.outcome === 'switched' ? 'info' : 'warn',
        text: `job ${t.jobId} → ${t.target}: ${t.outcome} · ${bytes(t.bytesToDevice)} to the device, ${bytes(t.bytesFromDevice)} back · open ${duration(t.closedAt - t.openedAt)}`,
      });
    }
    for (const d of state.journal.deviceLogs) {
      rows.push({
        source: 'device',
        time: d.receivedAt,
        level: SEVERITY_LEVELS[d.severity] || 'info',
        text: `${d.hostname || d.source}${d.appName ? ` ${d.appName}` : ''}: ${d.message}${d.jobId ? ` (job ${d.jobId})` : ''}`,
      });
    }
    return rows;
  }

  function renderLogs() {
    const filter = $('log-filter').value.trim().toLowerCase();
    const min = LEVELS[$('log-level').value] || 0;
    const source = $('log-source').value;
    const shown = logRows()
      .filter((r) => (source === 'all' || r.source === source) && (LEVELS[r.level] || 0) >= min)
      .filter((r) => !filter || r.text.toLowerCase().includes(filter))
      .sort((a, b) => b.time - a.time)
      .slice(0, 200);
    $('log-lines').replaceChildren(
      ...shown.map((r) =>
        el(
          'li',
          { class: `level-${r.level}`, 'data-source': r.source },
          el('time', null, new Date(r.time).toLocaleTimeString()),
          ` ${r.level} `,
          el('span', { class: 'source' }, r.source),
          ` ${r.text}`,
        ),
      ),
    );
  }

  function renderSettings() {
    $('settings-json').textContent = JSON.stringify(state.settings, null, 2);
  }

  function renderAll() {
    renderOverview();
    renderKeepalive();
    renderDevices();
    renderTunnelsAndJobs();
    renderPushProxy();
    renderLogs();
    renderSettings();
  }

  // ---- live updates -------------------------------------------------------------------

  /** Appends the items of a stream the browser has not seen (by sequence number). */
  function append(list, items, max) {
    const seen = list.length ? list[list.length - 1].seq : 0;
    for (const item of items) if (item.seq > seen) list.push(item);
    if (max && list.length > max) list.splice(0, list.length - max);
  }

  function apply(message) {
    if (message.type === 'snapshot') {
      state = message.status;
      clockOffset = state.gateway.now - Date.now();
      renderAll();
      return;
    }
    if (message.type !== 'patch' || !state) return;
    Object.assign(state, message.sections);
    if (message.sections.gateway) clockOffset = message.sections.gateway.now - Date.now();
    append(state.history.points, message.history.points);
    append(state.history.drops, message.history.drops);
    append(state.logs, message.logs, MAX_LOG_LINES);
    renderOverview();
    renderKeepalive();
    if (message.sections.devices) renderDevices();
    if (message.sections.tunnels || message.sections.jobs) renderTunnelsAndJobs();
    if ('pushProxy' in message.sections) renderPushProxy();
    if (message.logs.length || message.sections.journal) renderLogs();
  }

  function setLive(text, kind) {
    const pill = $('live');
    pill.textContent = text;
    pill.className = `pill ${kind}`;
  }

  function connect() {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/live`);
    ws.onopen = () => {
      retryMs = 1000;
      setLive('live', 'ok');
    };
    ws.onmessage = (event) => apply(JSON.parse(event.data));
    ws.onclose = async () => {
      setLive('reconnecting…', 'warn');
      // A closed socket may mean the session expired: then the login page, else retry with backoff.
      try {
        const res = await fetch('/api/status', { cache: 'no-store', method: 'HEAD' });
        if (res.status === 401) {
          location.href = '/login';
          return;
        }
      } catch {
        // The gateway is restarting or unreachable: keep trying.
      }
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 30_000);
    };
  }

  document.body.dataset.auth = document.querySelector('meta[name="auth"]').content;
  $('log-filter').addEventListener('input', () => state && renderLogs());
  $('log-level').addEventListener('change', () => state && renderLogs());
  $('log-source').addEventListener('change', () => state && renderLogs());
  $('power-override').addEventListener('submit', (event) => {
    event.preventDefault();
    powerOverride('POST', { mode: $('power-mode').value, forMs: Number($('power-for').value) });
  });
  $('power-clear').addEventListener('click', () => powerOverride('DELETE'));
  // The chart follows its box (window resized, phone turned): uPlot draws at a fixed width.
  new ResizeObserver(() => {
    if (chart) chart.setSize({ width: Math.max(280, $('chart').clientWidth), height: 240 });
  }).observe($('chart'));
  connect();
})();
