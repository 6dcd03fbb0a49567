/** Building blocks shared by the manifest schemas: the original's loose YAML types, normalised. */
import { z } from 'zod';
import { suggestion } from '../did-you-mean.js';

/**
 * An object with a fixed set of keys. A key outside the set is an error that names the closest known key,
 * so `permisions` is reported as a typo of `permissions` rather than silently ignored.
 */
export function known<T extends z.ZodRawShape>(shape: T) {
  const keys = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') {
        return iss.keys
          .map((k) => `unknown key "${k}"${suggestion(k, keys)}; expected one of: ${keys.join(', ')}`)
          .join('; ');
      }
      if (iss.code === 'invalid_type') return `expected a mapping, got ${describe(iss.input)}`;
      return undefined;
    },
  });
}

/** How a value looks, for messages: `number 5`, `a list`, `"text"`. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing (the key is missing)';
  if (v === null) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`;
  return `${typeof v} ${String(v)}`;
}

const TRUE = new Set(['true', 'yes', 'on', 'y', '1']);
const FALSE = new Set(['false', 'no', 'off', 'n', '0', '']);

/** true/false, yes/no, on/off, 1/0, as booleans or strings (the original writes `omitdebsrc: "true"`). */
export const looseBool = z.unknown().transform((v, ctx): boolean => {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' && (v === 0 || v === 1)) return v === 1;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (TRUE.has(s)) return true;
    if (FALSE.has(s)) return false;
  }
  ctx.addIssue({ code: 'custom', message: `expected true or false (yes/no), got ${describe(v)}` });
  return z.NEVER;
});

/** A string; numbers and booleans are accepted and written as text (`value: 0` → `"0"`). */
export const text = z.unknown().transform((v, ctx): string => {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  ctx.addIssue({ code: 'custom', message: `expected a string or number, got ${describe(v)}` });
  return z.NEVER;
});

/** A non-empty string. */
export const name = z.string({ error: (iss) => `expected a string, got ${describe(iss.input)}` }).min(1, {
  error: 'must not be empty',
});

/** A whole number; digits in a string are accepted (`"3"`). */
export const integer = z.unknown().transform((v, ctx): number => {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v)) return Number.parseInt(v, 10);
  ctx.addIssue({ code: 'custom', message: `expected a whole number, got ${describe(v)}` });
  return z.NEVER;
});

/** A whole number >= 0. */
export const count = integer.pipe(z.number().min(0, { error: 'must be 0 or more' }));

/**
 * A file mode as 4 octal digits. `'0755'` and `'755'` are strings of octal digits; an unquoted `0755` is read
 * as YAML 1.1 octal (the number 493), exactly as Ansible reads it, and written back as `0755`.
 */
export const permissions = z.unknown().transform((v, ctx): string => {
  if (typeof v === 'string' && /^0?[0-7]{3,4}$/.test(v.trim())) return v.trim().padStart(4, '0').slice(-4);
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0o7777) {
    return v.toString(8).padStart(4, '0');
  }
  ctx.addIssue({
    code: 'custom',
    message: `expected a file mode in octal digits such as '0755', got ${describe(v)}`,
  });
  return z.NEVER;
});

const RUN_CONTEXTS = ['common', 'qcow'] as const;

/** Where an osconfig item applies: the shared base image (`common`) or the QCOW cut (`qcow`). */
export type RunContext = (typeof RUN_CONTEXTS)[number];

const isRunContext = (v: string): v is RunContext => (RUN_CONTEXTS as readonly string[]).includes(v);

/**
 * Where an item applies. Templates such as `{{ default_run_context }}` are resolved before this check;
 * a missing list means the shared base image only.
 */
export const runContexts = z
  .array(
    z.string().transform((v, ctx): RunContext => {
      if (isRunContext(v)) return v;
      ctx.addIssue({
        code: 'custom',
        message: `expected common or qcow (or {{ default_run_context }} / {{ qcow_run_context }}), got "${v}"${suggestion(v, RUN_CONTEXTS)}`,
      });
      return z.NEVER;
    }),
    { error: (iss) => `expected a list of run contexts, got ${describe(iss.input)}` },
  )
  .default(['common']);

/** A list (or nothing, meaning empty). */
export function list<T extends z.ZodType>(item: T) {
  return z
    .array(item, { error: (iss) => `expected a list, got ${describe(iss.input)}` })
    .nullable()
    .transform((v) => v ?? []);
}

/** A string schema that also passes `check` (which returns why not, or undefined). */
function checked<T extends z.ZodType<string>>(base: T, check: (s: string) => string | undefined) {
  return base.transform((s: string, ctx): string => {
    const why = check(s);
    if (why === undefined) return s;
    ctx.addIssue({ code: 'custom', message: why });
    return z.NEVER;
  });
}

/** The first C0/C1 control character or Unicode line separator in `s`, as a code point. */
export function firstControl(s: string): number | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) return c;
  }
  return undefined;
}

function controlChar(s: string): string | undefined {
  const c = firstControl(s);
  if (c === undefined) return undefined;
  const what =
    c === 10
      ? 'a line break'
      : c === 13
        ? 'a carriage return'
        : c === 9
          ? 'a tab'
          : `control character U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  return `holds ${what}; it must be one line of text`;
}

/** One line of text (sysctl values, comments in generated files): no line break or other control character. */
export function oneLine(s: string): string | undefined {
  return controlChar(s);
}

/**
 * One field of a generated file or command line (fstab options, grub and kubelet arguments, limits fields):
 * no blank, quote, backslash, `$` or backtick (grub's file is sourced by a shell, the others split on blanks).
 */
export function field(s: string): string | undefined {
  const c = controlChar(s);
  if (c) return c;
  const m = /[\s"'`$\\]/.exec(s);
  return m
    ? `holds ${m[0] === ' ' ? 'a blank' : JSON.stringify(m[0])}, which cannot be written into this field`
    : undefined;
}

/**
 * A path in the image: absolute, normalised (no `.`, `..` or empty segments, no trailing slash) and one line.
 */
export function absolutePath(s: string): string | undefined {
  if (!s.startsWith('/')) return `expected an absolute path (starting with /), got ${describe(s)}`;
  const c = controlChar(s);
  if (c) return `path ${c}`;
  if (s.length > 1 && s.endsWith('/')) return `path must not end with "/" (write ${s.replace(/\/+$/, '')})`;
  const segments = s.split('/').slice(1);
  if (s !== '/' && segments.some((p) => p === '' || p === '.' || p === '..')) {
    return `path ${describe(s)} must be normalised: no "..", "." or empty segments (it must stay inside the image)`;
  }
  return undefined;
}

/** A single file or unit name: no folder part, not `.`/`..`, no blank, quote or control character. */
export function plainName(s: string): string | undefined {
  if (!/^[A-Za-z0-9_@:+.-]+$/.test(s) || s === '.' || s === '..' || s.startsWith('-')) {
    return `expected a plain name (letters, digits, "._-@:+", no "/" or blanks, not starting with "-"), got ${describe(s)}`;
  }
  return undefined;
}

/** A text field holding one line. */
export const lineText = checked(text, oneLine);
/** A text field that is written as one blank-free, quote-free field. */
export const fieldText = checked(text, field);
/** A non-empty field. */
export const fieldName = checked(name, field);
/** An absolute, normalised path inside the image. */
export const imagePath = checked(name, absolutePath);
/** A plain file name. */
export const fileName = checked(name, plainName);

const ACCOUNT = /^(?:[a-z_][a-z0-9_-]{0,31}\$?|\d+)$/;

/** A user or group name as Debian's adduser takes it, or a numeric id. */
export const account = checked(name, (s) =>
  ACCOUNT.test(s)
    ? undefined
    : `expected a user or group name (lower-case letters, digits, "_" and "-", at most 32) or a number, got ${describe(s)}`,
);

/** `{ name, value }` written as a kernel, grub or kubelet argument: both single fields. */
export const argument = known({ name: fieldName, value: fieldText });
