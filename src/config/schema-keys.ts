import { safeParse, type z } from 'zod';

/** The parts of a zod definition that lead from a schema to the settings inside it. */
interface Def {
  type: string;
  shape?: Record<string, z.core.$ZodType>;
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
  element?: z.core.$ZodType;
  options?: readonly z.core.$ZodType[];
  valueType?: z.core.$ZodType;
  left?: z.core.$ZodType;
  right?: z.core.$ZodType;
  getter?: () => z.core.$ZodType;
}

const defOf = (schema: z.core.$ZodType): Def => schema._zod.def as unknown as Def;

/** The concrete schemas behind wrappers (default, optional, a transform's input, a union's options). */
function concrete(schema: z.core.$ZodType, depth = 0): z.core.$ZodType[] {
  if (depth > 32) return [];
  const def = defOf(schema);
  const next = def.innerType ?? def.in ?? def.getter?.();
  if (next && def.type !== 'array' && def.type !== 'record') return concrete(next, depth + 1);
  if (def.type === 'union' && def.options) return def.options.flatMap((o) => concrete(o, depth + 1));
  if (def.type === 'intersection' && def.left && def.right) {
    return [...concrete(def.left, depth + 1), ...concrete(def.right, depth + 1)];
  }
  return [schema];
}

/** The schemas a value at `path` is checked against (several when a union allows several). */
function schemasAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): z.core.$ZodType[] {
  let current = concrete(schema);
  for (const step of path) {
    current = current.flatMap((s) => {
      const def = defOf(s);
      if (def.type === 'object') {
        const child = def.shape?.[String(step)];
        return child ? concrete(child) : [];
      }
      if (def.type === 'array' && def.element) return concrete(def.element);
      if (def.type === 'record' && def.valueType) return concrete(def.valueType);
      return [];
    });
  }
  return current;
}

/** The setting names a section at `path` may hold, in schema order ([] when it is no section). */
export function settingsAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  const names = schemasAt(schema, path).flatMap((s) => Object.keys(defOf(s).shape ?? {}));
  return [...new Set(names)];
}

/** Every setting's dotted path below `path` ("snmp.community" below "devices.1"). */
export function settingsBelow(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  return [...new Set(schemasAt(schema, path).flatMap((s) => allSettings(s)))];
}

/** Every setting's dotted path ("cloud.token"; list items as "devices.0.host"), for "did you mean". */
export function allSettings(schema: z.core.$ZodType, prefix = '', depth = 0): string[] {
  if (depth > 8) return [];
  return concrete(schema).flatMap((s) => {
    const def = defOf(s);
    if (def.type === 'object') {
      return Object.entries(def.shape ?? {}).flatMap(([name, child]) => {
        const path = prefix ? `${prefix}.${name}` : name;
        return [path, ...allSettings(child, path, depth + 1)];
      });
    }
    if (def.type === 'array' && def.element) return allSettings(def.element, `${prefix}.0`, depth + 1);
    return [];
  });
}

/** The settings of the section at `path` that have no default: what a missing section needs. */
export function requiredSettingsAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  const names = schemasAt(schema, path).flatMap((s) =>
    Object.entries(defOf(s).shape ?? {})
      .filter(([, child]) => !safeParse(child, undefined).success)
      .map(([name]) => name),
  );
  return [...new Set(names)];
}
