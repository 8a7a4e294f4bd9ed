// TOML config files and option resolution with NSQ's precedence: an explicit command-line flag,
// then the config-file key, then the built-in default (mreiferson/go-options `Resolve`). Config
// values are coerced the way go-options coerces them, so a config file that works with Go nsqd
// works here too; unknown keys are ignored, as Go ignores them.

import { errorText } from './log.js';
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { parseDuration, toNanos } from './duration.js';
import { parseGoBool, parseGoFloat, type FlagSpec } from './flags.js';

/** Read and parse a TOML config file; throws an Error naming the file and the read or parse error. */
export function loadConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`failed to load config file ${path} - ${goPathError(path, err)}`, { cause: err });
  }
  try {
    // Integers past 2^53 come as bigints (Go reads int64), not as a refusal of the whole file.
    return parseToml(text, { integersAsBigInt: 'asNeeded' }) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`failed to load config file ${path} - ${errorText(err)}`, { cause: err });
  }
}

const GO_ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many levels of symbolic links',
};

/**
 * A failed read of `path` as Go's os.PathError prints it: `open <path>: no such file or
 * directory` (`read <path>: is a directory` for a directory, which Go opens and then cannot read).
 */
export function goPathError(path: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code !== 'string') return errorText(err);
  const op = e.code === 'EISDIR' ? 'read' : 'open';
  const text = GO_ERRNO_TEXT[e.code] ?? errorText(err).replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
  return `${op} ${path}: ${text}`;
}

/** The config-file key of a flag: its `cfg` name, or the flag name with '-' replaced by '_'. */
export function cfgName(spec: FlagSpec): string {
  return spec.cfg ?? spec.name.replaceAll('-', '_');
}

/** A value that JSON renders as null: how Go marshals a nil slice. */
const JSON_NULL = { toJSON: (): null => null };

/**
 * The answer of nsqd's and nsqadmin's GET /config/<name>: the option whose config-file key is
 * `name`, as Go marshals it (durations in nanoseconds; the list option `nilKey`, one a PUT of
 * JSON null left as Go's nil slice, as null), or undefined when no option (or a
 * command-line-only one) has that key.
 */
export function configOptionValue(specs: readonly FlagSpec[], opts: object, name: string, nilKey: string | null): unknown {
  const spec = specs.find((s) => !s.noConfig && cfgName(s) === name);
  if (spec === undefined) return undefined;
  if (spec.key === nilKey) return JSON_NULL;
  const v = (opts as Record<string, unknown>)[spec.key];
  return spec.kind === 'duration' ? toNanos(v as number) : v;
}

function typeOfValue(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'datetime';
  return typeof v;
}

/** A copy of a default value, so that resolved options never share arrays or objects with the table. */
function copyDefault(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  try {
    return structuredClone(v);
  } catch {
    return v; // not cloneable (e.g. holds functions): share it rather than fail
  }
}

/** Apply a spec's optional `parse` hook to a converted config value (see FlagSpec.parse). */
function applyParse(spec: FlagSpec, value: unknown, raw: string): unknown {
  if (!spec.parse) return value;
  const p = spec.parse(raw);
  return p === undefined ? value : p;
}

/** An integer from a TOML value: integer (or integral float) numbers, bigints in range, decimal strings. */
function coerceInt(v: unknown): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && /^[+-]?\d+$/.test(v)) return Number(v); // go-options: ParseInt(v, 10, 64)
  throw new Error(`expected an integer, got ${typeOfValue(v)} ${String(v)}`);
}

/** Convert one config value to the type a spec asks for; throws a plain Error describing the problem. */
function coerce(spec: FlagSpec, v: unknown): unknown {
  switch (spec.kind) {
    case 'int': {
      const n = coerceInt(v);
      return applyParse(spec, n, String(n));
    }
    case 'bool': {
      let b: boolean;
      if (typeof v === 'boolean') b = v;
      else if (typeof v === 'string') b = parseGoBool(v); // go-options accepts strconv.ParseBool text
      else throw new Error(`expected a boolean, got ${typeOfValue(v)}`);
      return applyParse(spec, b, String(b));
    }
    case 'string': {
      if (typeof v !== 'string') throw new Error(`expected a string, got ${typeOfValue(v)}`);
      return applyParse(spec, v, v);
    }
    case 'duration': {
      let ms: number;
      if (typeof v === 'string') ms = parseDuration(v);
      else if ((typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint') ms = Number(v); // integers are milliseconds
      else throw new Error(`expected a duration string or integer milliseconds, got ${typeOfValue(v)}`);
      return applyParse(spec, ms, typeof v === 'string' ? v : `${ms}ms`);
    }
    case 'float': {
      let f: number;
      if (typeof v === 'number') f = v;
      else if (typeof v === 'bigint') f = Number(v);
      else if (typeof v === 'string') f = parseGoFloat(v.trim());
      else throw new Error(`expected a number, got ${typeOfValue(v)}`);
      return applyParse(spec, f, String(f));
    }
    case 'strings': {
      // go-options splits a plain string on ',' and trims each entry (so "a, b" is two entries and "a" is one).
      const items: unknown[] = typeof v === 'string' ? v.split(',').map((x) => x.trim()) : Array.isArray(v) ? v : [];
      if (typeof v !== 'string' && !Array.isArray(v)) throw new Error(`expected an array of strings, got ${typeOfValue(v)}`);
      return items.map((item) => {
        if (typeof item === 'string') return applyParse(spec, item, item);
        // Non-string elements only make sense when a parse hook gives them meaning (e.g. floats).
        if (spec.parse && (typeof item === 'number' || typeof item === 'boolean' || typeof item === 'bigint')) {
          return applyParse(spec, item, String(item));
        }
        throw new Error(`expected an array of strings, found ${typeOfValue(item)} ${String(item)}`);
      });
    }
    case 'custom': {
      if (spec.fromConfig) return spec.fromConfig(v);
      if (spec.parse) return spec.parse(String(v));
      return v;
    }
  }
}

/**
 * Build the options object from a flag table: an explicit flag value wins, else the config-file
 * value under the spec's cfg key (unless noConfig), else a copy of the default; throws
 * Error('invalid value for <cfg>: ...') when a config value has the wrong type or fails to parse.
 */
export function resolveOptions<T extends object>(
  specs: readonly FlagSpec[],
  flags: { values: Record<string, unknown>; explicit: Set<string> },
  config: Record<string, unknown>,
): T {
  const out: Record<string, unknown> = {};
  const fromConfig = new Set<string>();
  for (const spec of specs) {
    const name = cfgName(spec);
    if (!spec.configCheckedFirst || !Object.hasOwn(config, name) || config[name] === undefined) continue;
    try {
      coerce(spec, config[name]);
    } catch (err) {
      // Go prints the value with %+v.
      const v = config[name];
      throw new Error(`failed parsing ${name} ${Array.isArray(v) ? `[${v.join(' ')}]` : String(v)}`, { cause: err });
    }
  }
  for (const spec of specs) {
    const key = spec.key;
    if (flags.explicit.has(key)) {
      out[key] = flags.values[key];
      continue;
    }
    const name = cfgName(spec);
    if (!spec.noConfig && Object.hasOwn(config, name) && config[name] !== undefined) {
      // Several specs may share a key (a deprecated alias): the first config hit wins.
      if (fromConfig.has(key)) continue;
      try {
        out[key] = coerce(spec, config[name]);
      } catch (err) {
        throw new Error(`invalid value for ${name}: ${errorText(err)}`, { cause: err });
      }
      fromConfig.add(key);
      continue;
    }
    if (!Object.hasOwn(out, key)) out[key] = copyDefault(spec.default);
  }
  return out as T;
}
