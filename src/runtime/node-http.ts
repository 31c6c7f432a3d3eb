/**
 * node:http and node:https, loaded with CommonJS require.
 *
 * Why not `import … from 'node:http'`: an ES import of a built-in builds the module's
 * namespace by reading every export, and node:http's `WebSocket`, `CloseEvent` and
 * `MessageEvent` are lazy getters that load Node's bundled undici (and with it http2,
 * worker_threads and web streams) — about 13 MB of resident memory on a gateway that never
 * uses them. `require` hands over the same module object and leaves the getters alone.
 * Type-only imports of node:http stay as they are (they are erased).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const http: typeof import('node:http') = require('node:http');
export const https: typeof import('node:https') = require('node:https');
