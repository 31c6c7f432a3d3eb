import type { z } from 'zod';
import { formatDuration } from '../calendar/duration.ts';
import { isDurationSchema } from './schema-types.ts';

type Def = {
  type: string;
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
  out?: z.core.$ZodType;
  shape?: Record<string, z.core.$ZodType>;
  element?: z.core.$ZodType;
  valueType?: z.core.$ZodType;
  options?: z.core.$ZodType[];
  getter?: () => z.core.$ZodType;
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A parsed config written back in the units its file uses: every `duration()` value, which
 * the schema turned into milliseconds, as a duration string again ("45s", "2h", "1h30m");
 * everything else as it is. For showing a config to people (the status page's settings,
 * the diagnostics bundle): what they read is what they would write.
 */
export function inConfigUnits(schema: z.core.$ZodType, value: unknown): unknown {
  if (isDurationSchema(schema)) return typeof value === 'number' ? formatDuration(value) : value;
  const def = schema._zod.def as unknown as Def;
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return def.innerType ? inConfigUnits(def.innerType, value) : value;
    case 'pipe': {
      // A refinement's output is its input's shape; a transform's output is unknown.
      const out = def.out?._zod.def.type === 'transform' ? def.in : def.out;
      return out ? inConfigUnits(out, value) : value;
    }
    case 'lazy':
      return def.getter ? inConfigUnits(def.getter(), value) : value;
    case 'object': {
      if (!isRecord(value) || !def.shape) return value;
      const shape = def.shape;
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, shape[k] ? inConfigUnits(shape[k], v) : v]),
      );
    }
    case 'array':
      return Array.isArray(value) && def.element
        ? value.map((v) => inConfigUnits(def.element as z.core.$ZodType, v))
        : value;
    case 'record':
      return isRecord(value) && def.valueType
        ? Object.fromEntries(
            Object.entries(value).map(([k, v]) => [k, inConfigUnits(def.valueType as z.core.$ZodType, v)]),
          )
        : value;
    case 'union': {
      // The object option that has every key of the value; values of other options stay as they are.
      if (!isRecord(value)) return value;
      const option = def.options?.find((o) => {
        const shape = (o._zod.def as unknown as Def).shape;
        return shape && Object.keys(value).every((k) => k in shape);
      });
      return option ? inConfigUnits(option, value) : value;
    }
    default:
      return value;
  }
}
