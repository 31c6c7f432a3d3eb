// @ts-check
// The shapes the page receives, from the daemon's own types (checked by `tsc -p tsconfig.page.json`).

/**
 * @typedef {import('../status-model.ts').StatusSnapshot} Status
 * @typedef {import('../status-model.ts').StatusSections} Sections
 * @typedef {Status['lines'][number]} Line
 * @typedef {import('../status-model.ts').DeviceView} Device
 * @typedef {import('../status-model.ts').TunnelView} Tunnel
 * @typedef {import('../status-model.ts').JobView} Job
 * @typedef {import('../status-model.ts').PushProxyView} PushProxy
 * @typedef {Status['logs'][number]} LogEntry
 * @typedef {Status['history']['points'][number]} IntervalPoint
 * @typedef {Status['history']['drops'][number]} Drop
 */

/**
 * What the live WebSocket sends: a snapshot first, then patches (live-updates.ts).
 * @typedef {{ type: 'snapshot', status: Status }
 *   | { type: 'patch', sections: Partial<Sections>, history: Status['history'], logs: LogEntry[] }} LiveMessage
 */

export {};
