// @ts-check
// The status page: one WebSocket brings a snapshot, then patches; every section is drawn
// from that one state by its own module. No framework, no polling.
import { renderDevices } from './devices.js';
import { renderHealth } from './health.js';
import { renderTunnelsAndJobs } from './jobs.js';
import { followChartBox, renderKeepalive } from './keepalive.js';
import { connect, current } from './live.js';
import { renderLogs, wireLogFilters } from './logs.js';
import { renderOverview } from './overview.js';
import { wirePowerOverride } from './power.js';
import { renderPushProxy } from './push-proxy.js';
import { renderSettings } from './settings.js';

/** @typedef {import('./live.js').Renderer} Renderer */

/** @type {Renderer} */
const render = {
  all(status) {
    renderHealth(status.health);
    renderOverview(status);
    renderKeepalive(status);
    renderDevices(status.devices);
    renderTunnelsAndJobs(status);
    renderPushProxy(status.pushProxy);
    renderLogs(status);
    renderSettings(status.settings);
  },
  patch(status, changed) {
    // Uptime and "… ago" move by themselves: the overview and keep-alive are drawn every time.
    renderHealth(status.health);
    renderOverview(status);
    renderKeepalive(status);
    const has = (/** @type {string} */ name) => changed.sections.includes(name);
    if (has('devices')) renderDevices(status.devices);
    if (has('tunnels') || has('jobs')) renderTunnelsAndJobs(status);
    if (has('pushProxy')) renderPushProxy(status.pushProxy);
    if (changed.logs) renderLogs(status);
  },
};

const auth = document.querySelector('meta[name="auth"]');
document.body.dataset.auth = auth instanceof HTMLMetaElement ? auth.content : '';
wireLogFilters(current);
wirePowerOverride();
followChartBox();
connect(render);
