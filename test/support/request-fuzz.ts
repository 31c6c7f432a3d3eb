import fc from 'fast-check';

/** One way to spell a request path differently (see mutatePath). */
export type PathMutation = { op: string; at?: number; upper?: boolean; text?: string; byte?: number };

const hex = (c: string, upper: boolean) => {
  const h = c.charCodeAt(0).toString(16).padStart(2, '0');
  return `%${upper ? h.toUpperCase() : h}`;
};

/**
 * Generates path mutations for request-target fuzz tests: percent-encode a character, encode
 * the percent signs again, replace a slash (`//`, dot segments, backslash, encoded slash),
 * append (query, fragment, bad UTF-8, broken escapes), upper-case, insert a raw byte. Each
 * listener's test adds the spellings that matter to it.
 */
export function pathMutation(
  extra: { slashes?: string[]; appends?: string[] } = {},
): fc.Arbitrary<PathMutation> {
  return fc.oneof(
    fc.record({ op: fc.constant('encode'), at: fc.nat(), upper: fc.boolean() }),
    fc.record({ op: fc.constant('double-encode'), at: fc.nat() }),
    fc.record({
      op: fc.constant('slash'),
      at: fc.nat(),
      text: fc.constantFrom('//', '/./', '/x/../', '\\', '/%2F', '/%2e/', ...(extra.slashes ?? [])),
    }),
    fc.record({
      op: fc.constant('append'),
      text: fc.constantFrom(
        '/',
        '?',
        '?a=1&a=2',
        '#f',
        ';x',
        '%00',
        '%',
        '%G1',
        '%E0%A4%A',
        '%FF',
        '%C0%AF',
        '/..',
        ...(extra.appends ?? []),
      ),
    }),
    fc.record({ op: fc.constant('upper') }),
    fc.record({ op: fc.constant('raw-byte'), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  );
}

/** Applies one mutation to a path. */
export function mutatePath(path: string, m: PathMutation): string {
  const at = m.at !== undefined && path.length > 0 ? m.at % path.length : 0;
  switch (m.op) {
    case 'encode': {
      const c = path[at] ?? 'a';
      return path.slice(0, at) + hex(c, m.upper ?? false) + path.slice(at + 1);
    }
    case 'double-encode':
      return path.replaceAll('%', '%25');
    case 'slash': {
      const slash = path.indexOf('/', at);
      return slash < 0
        ? path + (m.text ?? '')
        : path.slice(0, slash) + (m.text ?? '') + path.slice(slash + 1);
    }
    case 'append':
      return path + (m.text ?? '');
    case 'upper':
      return path.toUpperCase();
    case 'raw-byte':
      return path.slice(0, at) + String.fromCharCode(m.byte ?? 0) + path.slice(at);
    default:
      return path;
  }
}

/**
 * Generates request targets: one of `routes()` (read when a value is made, so routes known
 * only at run time count) spelled differently by up to four mutations, in origin form
 * (most often), absolute form (http and https, with one of `hosts`), authority form,
 * asterisk form, or empty.
 */
export function requestTarget(
  routes: () => readonly string[],
  opts: { mutation: fc.Arbitrary<PathMutation>; hosts: string[]; authority: string },
): fc.Arbitrary<string> {
  return fc
    .record({
      route: fc.nat(),
      mutations: fc.array(opts.mutation, { maxLength: 4 }),
      form: fc.constantFrom(
        'origin',
        'origin',
        'origin',
        'absolute',
        'absolute-https',
        'authority',
        'asterisk',
        'empty',
      ),
      host: fc.constantFrom(...opts.hosts, ''),
    })
    .map(({ route, mutations, form, host }) => {
      const all = routes();
      let path = all[route % all.length] as string;
      for (const m of mutations) path = mutatePath(path, m);
      switch (form) {
        case 'absolute':
          return `http://${host}${path}`;
        case 'absolute-https':
          return `https://${host}${path}`;
        case 'authority':
          return host || opts.authority;
        case 'asterisk':
          return '*';
        case 'empty':
          return '';
        default:
          return path;
      }
    });
}
