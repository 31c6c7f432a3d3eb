import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';

/**
 * The page's own files sit beside this module (src/gateway/status/public; in the built app
 * beside its chunks, dist/public, board/bundle/build-app.ts): its HTML shell, its style and
 * its script, ES modules that import each other by relative path (`./dom.js` →
 * `/assets/dom.js`), so every `.js` and `.css` there is served. uPlot is served from its npm
 * package, so the page needs no CDN.
 */
const PUBLIC = fileURLToPath(new URL('./public/', import.meta.url));
const own = (name: string) => `${PUBLIC}${name}`;
const fromPackage = (specifier: string) => createRequire(import.meta.url).resolve(specifier);

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const TYPES: Record<string, string> = { js: JS, css: CSS };

/** The page cannot run without these: a bundle that lacks one is reported at start. */
const REQUIRED: Record<string, { path: string; type: string }> = {
  'app.js': { path: own('app.js'), type: JS },
  'app.css': { path: own('app.css'), type: CSS },
  'uplot.js': { path: fromPackage('uplot/dist/uPlot.iife.min.js'), type: JS },
  'uplot.css': { path: fromPackage('uplot/dist/uPlot.min.css'), type: CSS },
};

/** Every file served under /assets/: the required ones and the rest of public/'s modules. */
function files(): Record<string, { path: string; type: string }> {
  const found: Record<string, { path: string; type: string }> = {};
  if (existsSync(PUBLIC)) {
    for (const name of readdirSync(PUBLIC)) {
      const type = TYPES[name.slice(name.lastIndexOf('.') + 1)];
      if (type) found[name] = { path: own(name), type };
    }
  }
  return { ...found, ...REQUIRED };
}

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

function load(path: string, type: string): Asset {
  const body = readFileSync(path);
  return {
    type,
    body,
    gzip: gzipSync(body, { level: 9 }),
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`,
  };
}

/** The page shell; `{{csrf}}` is replaced by the session's token on each request. */
export function pageShell(): string {
  return readFileSync(own('index.html'), 'utf8');
}

/**
 * Serves the static assets from memory (read once when the app is built, a few tens of KB), gzipped
 * when the browser accepts it, revalidated by ETag so a reload costs a 304. Returns the
 * paths of files that are missing (a bundle built without them): those answer 404.
 */
export function registerAssets(app: FastifyInstance): string[] {
  const assets = new Map<string, Asset>();
  for (const [name, f] of Object.entries(files())) {
    if (existsSync(f.path)) assets.set(name, load(f.path, f.type));
  }
  app.get<{ Params: { name: string } }>('/assets/:name', async (req, reply) => {
    const asset = assets.get(req.params.name);
    if (!asset) return reply.code(404).send({ error: 'not found' });
    void reply
      .header('etag', asset.etag)
      .header('cache-control', 'no-cache')
      .header('vary', 'accept-encoding');
    if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    void reply.type(asset.type);
    if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      return reply.header('content-encoding', 'gzip').send(asset.gzip);
    }
    return reply.send(asset.body);
  });
  return missingAssets();
}

/** Paths of the page's files that are missing (a bundle built without them). */
export function missingAssets(): string[] {
  return Object.values(REQUIRED)
    .map((f) => f.path)
    .filter((path) => !existsSync(path));
}
