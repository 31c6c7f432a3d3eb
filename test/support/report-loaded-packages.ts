/**
 * Loaded with `node --import` into a process under test: records every npm package the
 * process loads (ES import or require) and, on SIGUSR2, prints one JSON line
 * `{"msg":"loaded packages","packages":[…],"undici":…}` to stdout. `undici` says whether
 * Node's bundled undici (http.WebSocket, fetch) was loaded.
 */
import { registerHooks } from 'node:module';

const packages = new Set<string>();

registerHooks({
  resolve(specifier, context, next) {
    const resolved = next(specifier, context);
    const name = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(resolved.url)?.[1];
    if (name) packages.add(name);
    return resolved;
  },
});

process.on('SIGUSR2', () => {
  const { moduleLoadList } = process as unknown as { moduleLoadList: string[] };
  const undici = moduleLoadList.includes('NativeModule internal/deps/undici/undici');
  process.stdout.write(
    `${JSON.stringify({ msg: 'loaded packages', packages: [...packages].sort(), undici })}\n`,
  );
});
