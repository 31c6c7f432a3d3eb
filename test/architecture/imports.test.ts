import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layers of src/ (docs/architecture.md), lowest first. A module may import modules of its
 * own folder and of lower layers only: never a higher layer, never another folder of its own
 * layer. An entry is a folder (trailing slash), a file, the files right in a folder (`*.ts`),
 * or an app's feature files (`*-feature.ts`, wherever they are in it); the most specific entry
 * that matches places a file (file, then features, then `*.ts`, then the longest folder).
 * Written here rather than with
 * dependency-cruiser, which needs TypeScript's compiler API (TypeScript 7 has none in JS).
 */
const LAYERS: readonly (readonly string[])[] = [
  // Base: no knowledge of the product.
  ['src/runtime/', 'src/version.ts'],
  ['src/clock/', 'src/log/', 'src/retry/', 'src/storage/', 'src/calendar/', 'src/secrets/', 'src/http/'],
  ['src/lifecycle/'],
  // Wire formats, pure.
  ['src/protocol/*.ts'],
  ['src/protocol/'],
  // What carries bytes: the tunnel multiplexer, and the device drivers.
  ['src/tunnel/', 'src/devices/*.ts'],
  ['src/devices/pjl/'],
  ['src/devices/'],
  ['src/config/'],
  ['src/sim/'],
  // Gateway, from what lines need up to the composition root.
  [
    'src/gateway/keepalive/',
    'src/gateway/clock-watch/',
    'src/gateway/host/',
    'src/gateway/identity/',
    'src/gateway/push/',
    'src/gateway/load/',
  ],
  ['src/gateway/reload/', 'src/gateway/first-boot/'],
  ['src/gateway/link/', 'src/gateway/tunnels/', 'src/gateway/power/'],
  ['src/gateway/devices/', 'src/gateway/journal/', 'src/gateway/push-proxy/'],
  ['src/gateway/jobs/'],
  ['src/gateway/gateway-context.ts'],
  ['src/gateway/mqtt/', 'src/gateway/systemd/'],
  ['src/gateway/status/'],
  ['src/gateway/control/'],
  ['src/gateway/*-feature.ts'],
  ['src/gateway/gateway-daemon.ts'],
  // Cloud.
  ['src/cloud/cloud-context.ts', 'src/cloud/registry/', 'src/cloud/overload/'],
  ['src/cloud/store/'],
  ['src/cloud/learning/', 'src/cloud/scheduler/', 'src/cloud/devices/'],
  ['src/cloud/status/'],
  // The advisor reads the push directory, and the push server asks the advisor: one layer.
  ['src/cloud/push/', 'src/cloud/advisor/'],
  ['src/cloud/push-proxy/', 'src/cloud/jobs/', 'src/cloud/mqtt/'],
  // The store opener builds every store (registry, jobs, documents, devices); its database helpers sit low.
  ['src/cloud/http/', 'src/cloud/api/', 'src/cloud/store/cloud-store.ts', 'src/cloud/cluster/'],
  ['src/cloud/'],
  // Entry points.
  ['src/demo/', 'src/doctor/'],
  ['src/cli/lifecycle.ts', 'src/cli/arguments.ts'],
  ['src/cli/commands/'],
  ['src/cli/main.ts'],
];

/** The advisor and the push folders import each other (see LAYERS): one unit. */
const SAME_UNIT = [['src/cloud/push/', 'src/cloud/advisor/']];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Relative imports of a file (static, re-exports, dynamic; type-only ones too), as repo paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b[^'";]*?['"](\.[^'"]+)['"]/gm),
    ...text.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g),
  ].map((m) => m[1] as string);
  return specifiers.map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)));
}

function layerOf(file: string): number {
  let best: { layer: number; rank: number } | undefined;
  LAYERS.forEach((patterns, layer) => {
    for (const p of patterns) {
      if (!matches(file, p)) continue;
      const rank = specificity(p);
      if (!best || rank > best.rank) best = { layer, rank };
    }
  });
  if (!best) throw new Error(`${file} is in no layer: add its folder to LAYERS (docs/architecture.md)`);
  return best.layer;
}

function specificity(pattern: string): number {
  if (pattern.endsWith('*-feature.ts')) return 2000;
  if (pattern.endsWith('*.ts')) return 1000;
  return pattern.endsWith('/') ? pattern.length : 3000;
}

function matches(file: string, pattern: string): boolean {
  if (pattern.endsWith('*-feature.ts')) {
    return file.startsWith(pattern.slice(0, -'*-feature.ts'.length)) && file.endsWith('-feature.ts');
  }
  if (pattern.endsWith('*.ts')) {
    const dir = pattern.slice(0, -'*.ts'.length);
    return file.startsWith(dir) && !file.slice(dir.length).includes('/');
  }
  return pattern.endsWith('/') ? file.startsWith(pattern) : file === pattern;
}

/** The folder a file belongs to, for "same unit" (the advisor and push folders count as one). */
function unitOf(file: string): string {
  const folder = `${dirname(file)}/`;
  return SAME_UNIT.find((group) => group.some((g) => folder.startsWith(g)))?.[0] ?? folder;
}

const files = sourceFiles('src');
const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => t.startsWith('src/'))]));

/** Strongly connected components with more than one module (Tarjan), each an import cycle. */
function cycles(): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found;
}

describe('imports in src/', () => {
  it('finds the files and their imports', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(graph.get('src/gateway/gateway-daemon.ts')).toContain('src/lifecycle/feature.ts');
  });

  it('form no cycle, type-only imports included', () => {
    expect(cycles()).toEqual([]);
  });

  it('go only to the importer’s own folder or to a lower layer', () => {
    const wrong = [...graph].flatMap(([file, targets]) =>
      targets
        .filter((t) => unitOf(t) !== unitOf(file) && layerOf(t) >= layerOf(file))
        .map((t) => `${file} -> ${t}`),
    );
    expect(wrong).toEqual([]);
  });
});
