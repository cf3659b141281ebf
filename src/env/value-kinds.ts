/**
 * The kinds of value an environment variable can hold, after the OpenTelemetry "Environment Variable
 * Specification": each kind pairs a zod schema with the words that say what it accepts. A kind parses
 * the trimmed, non-empty text of one variable and never throws; lists keep their good entries and
 * report the others.
 */
import * as z from 'zod/mini';
import { isSecretName, REDACTED, redactKeyValueText, redactUrl } from './secrets.ts';

/** Read-only facts about the machine a kind may consult (kept injectable so loading stays pure for tests). */
export interface ParseContext {
  fileExists(path: string): boolean;
}

export type Parsed<T> = { ok: true; value: T; dropped: readonly string[] } | { ok: false; issue: string };

export interface Kind<T> {
  /** What is accepted, in words, for messages and the docs table. */
  readonly accepted: string;
  parse(text: string, context: ParseContext): Parsed<T>;
  /** The value as the env table and messages show it, secrets hidden. */
  show(value: T): string;
  /** The raw text as messages may quote it, secrets hidden. */
  redactRaw(text: string): string;
}

const MAX_TIMER_MS = 2_147_483_647; // setTimeout fires at once for anything larger

function firstIssue(error: z.core.$ZodError): string {
  return error.issues[0]?.message ?? 'is not valid';
}

function fromSchema<T>(schema: z.ZodMiniType<T, string>, text: string): Parsed<T> {
  const result = schema.safeParse(text);
  return result.success
    ? { ok: true, value: result.data, dropped: [] }
    : { ok: false, issue: firstIssue(result.error) };
}

const asIs = (text: string): string => text;
const lowercase = z.pipe(
  z.string(),
  z.transform((text: string) => text.toLowerCase()),
);

export function boolean(): Kind<boolean> {
  const schema = z.pipe(
    lowercase,
    z.pipe(
      z.enum(['true', 'false'], { error: 'is not true or false' }),
      z.transform((text) => text === 'true'),
    ),
  );
  return {
    accepted: 'true or false (any case)',
    parse: (text) => fromSchema(schema, text),
    show: String,
    redactRaw: asIs,
  };
}

export interface IntegerOptions {
  min: number;
  max?: number;
  unit?: 'ms';
}

export function integer({ min, max = MAX_TIMER_MS, unit }: IntegerOptions): Kind<number> {
  const schema = z.pipe(
    z.string().check(z.regex(/^[+-]?\d+$/, { error: 'is not a whole number' })),
    z.pipe(
      z.transform(Number),
      z.number().check(z.minimum(min, { error: `is below ${min}` }), z.maximum(max, { error: `is above ${max}` })),
    ),
  );
  const suffix = unit === 'ms' ? ' (milliseconds)' : '';
  return {
    accepted: `a whole number from ${min} to ${max}${suffix}`,
    parse: (text) => fromSchema(schema, text),
    show: String,
    redactRaw: asIs,
  };
}

export function ratio(): Kind<number> {
  const schema = z.pipe(
    // One way to match each digit run: `\d+\.?\d*` backtracks quadratically on a long run of digits.
    z.string().check(z.regex(/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/, { error: 'is not a number' })),
    z.pipe(
      z.transform(Number),
      z.number().check(z.minimum(0, { error: 'is below 0' }), z.maximum(1, { error: 'is above 1' })),
    ),
  );
  return {
    accepted: 'a number from 0 to 1',
    parse: (text) => fromSchema(schema, text),
    show: String,
    redactRaw: asIs,
  };
}

function listOf(values: readonly string[]): string {
  return values.join(', ');
}

export function enumeration<const V extends string>(values: readonly V[]): Kind<V> {
  const schema = z.pipe(lowercase, z.enum(values as [V, ...V[]], { error: `is not one of ${listOf(values)}` }));
  return {
    accepted: `one of ${listOf(values)} (any case)`,
    parse: (text) => fromSchema(schema, text),
    show: String,
    redactRaw: asIs,
  };
}

export interface ChoiceListOptions<V extends string> {
  /** Entries that mean "nothing" and may not be combined with others (OTEL_PROPAGATORS=none). */
  exclusive?: readonly V[];
  /** Entries accepted without effect: other instrumentations' values of a shared variable. */
  foreign?: readonly string[];
}

/**
 * A comma-separated list of known names, case-insensitive, duplicates dropped. An unknown entry is
 * reported and ignored; when none is left the default is used.
 */
export function choiceList<const V extends string>(
  values: readonly V[],
  { exclusive = [], foreign = [] }: ChoiceListOptions<V> = {},
): Kind<readonly V[]> {
  const entry = z.enum(values as [V, ...V[]]);
  const ignored = new Set(foreign);
  return {
    accepted: `a comma-separated list of ${listOf(values)} (any case)`,
    parse(text) {
      const chosen: V[] = [];
      const dropped: string[] = [];
      for (const item of splitList(text)) {
        const name = item.toLowerCase();
        if (ignored.has(name)) continue;
        const result = entry.safeParse(name);
        if (!result.success) dropped.push(`has an unknown entry "${item}", which is ignored`);
        else if (!chosen.includes(result.data)) chosen.push(result.data);
      }
      const alone = chosen.find((name) => exclusive.includes(name));
      if (alone !== undefined && chosen.length > 1) {
        dropped.push(`combines "${alone}" with other entries, so only "${alone}" is used`);
        return { ok: true, value: [alone], dropped };
      }
      if (chosen.length === 0) {
        if (ignored.size > 0 && dropped.length === 0) return { ok: true, value: [], dropped };
        return { ok: false, issue: dropped.length > 0 ? 'has no known entry' : 'has no entries' };
      }
      return { ok: true, value: chosen, dropped };
    },
    show: (value) => value.join(','),
    redactRaw: asIs,
  };
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

export interface KeyValueOptions {
  /** Hide every value (OTLP headers): the whole variable is a secret. */
  secret?: boolean;
  /** What a key must look like, and how to say so. */
  key?: { pattern: RegExp; description: string };
}

const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const headerKey = { pattern: HTTP_TOKEN, description: 'an HTTP header name' };

/**
 * `key=value` pairs separated by commas, values percent-decoded (W3C Baggage octets, as the spec
 * asks for OTEL_RESOURCE_ATTRIBUTES and the OTLP headers). A bad entry is reported, never quoted,
 * and ignored; a later duplicate key wins.
 */
export function keyValues({
  secret = false,
  key: keyRule,
}: KeyValueOptions = {}): Kind<Readonly<Record<string, string>>> {
  const pair = z.object({
    key: z.string().check(z.minLength(1, { error: 'with an empty key' })),
    value: z.pipe(
      z.string(),
      z.transform((encoded: string, context) => {
        try {
          const decoded = decodeURIComponent(encoded);
          // A lone surrogate decodes as is but cannot be encoded again (show() would throw).
          encodeURIComponent(decoded);
          return decoded;
        } catch {
          context.issues.push({
            code: 'custom',
            message: 'with a value that is not valid percent-encoding',
            input: encoded,
          });
          return z.NEVER;
        }
      }),
    ),
  });
  return {
    accepted: `comma-separated key=value pairs, values percent-encoded${keyRule ? `, each key ${keyRule.description}` : ''}`,
    parse(text) {
      const pairs: Record<string, string> = {};
      const dropped: string[] = [];
      let position = 0;
      for (const item of text.split(',')) {
        position += 1;
        if (item.trim() === '') continue;
        const equals = item.indexOf('=');
        if (equals === -1) {
          dropped.push(`has entry ${position} without "=", which is ignored`);
          continue;
        }
        const result = pair.safeParse({ key: item.slice(0, equals).trim(), value: item.slice(equals + 1).trim() });
        if (!result.success) {
          dropped.push(`has entry ${position} ${firstIssue(result.error)}, which is ignored`);
        } else if (keyRule && !keyRule.pattern.test(result.data.key)) {
          dropped.push(`has entry ${position} whose key is not ${keyRule.description}, which is ignored`);
        } else {
          pairs[result.data.key] = result.data.value;
        }
      }
      if (Object.keys(pairs).length === 0) {
        return { ok: false, issue: dropped.length > 0 ? 'has no valid key=value entry' : 'has no entries' };
      }
      return { ok: true, value: pairs, dropped };
    },
    show: (value) =>
      Object.entries(value)
        .map(([name, item]) => `${name}=${secret || isSecretName(name) ? REDACTED : encodeURIComponent(item)}`)
        .join(','),
    redactRaw: secret ? () => REDACTED : redactKeyValueText,
  };
}

export function httpUrl(): Kind<string> {
  const schema = z.pipe(
    z.string().check(
      // abort: zod runs every check, and the next one would throw on text that is not a URL.
      z.refine((text) => URL.canParse(text), { error: 'is not a URL', abort: true }),
      z.refine((text) => /^https?:$/.test(new URL(text).protocol), { error: 'is not an http:// or https:// URL' }),
    ),
    // Normalised by WHATWG URL, so the exporter and the env table show the same text.
    z.transform((text: string) => new URL(text).href),
  );
  return {
    accepted: 'an http:// or https:// URL',
    parse: (text) => fromSchema(schema, text),
    show: redactUrl,
    redactRaw: redactUrl,
  };
}

export function filePath(): Kind<string> {
  return {
    accepted: 'the path of a readable file',
    parse(text, context) {
      return context.fileExists(text)
        ? { ok: true, value: text, dropped: [] }
        : { ok: false, issue: 'is not an existing file' };
    },
    show: asIs,
    redactRaw: asIs,
  };
}

export function text(): Kind<string> {
  return { accepted: 'any text', parse: (value) => ({ ok: true, value, dropped: [] }), show: asIs, redactRaw: asIs };
}

export function environmentVariableName(): Kind<string> {
  const schema = z
    .string()
    .check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'is not an environment variable name' }));
  return {
    accepted: 'an environment variable name (letters, digits, _; not starting with a digit)',
    parse: (value) => fromSchema(schema, value),
    show: asIs,
    redactRaw: asIs,
  };
}

/** gRPC metadata keys: lowercase ASCII letters, digits, `-`, `_` and `.` (grpc PROTOCOL-HTTP2.md). */
export function metadataKeys(): Kind<readonly string[]> {
  const entry = z.string().check(z.regex(/^[0-9a-z_.-]+$/));
  return {
    accepted: 'a comma-separated list of gRPC metadata keys (letters, digits, -, _ and .; any case)',
    parse(value) {
      const keys: string[] = [];
      const dropped: string[] = [];
      for (const item of splitList(value)) {
        const key = item.toLowerCase();
        if (!entry.safeParse(key).success)
          dropped.push(`has an entry "${item}" that is not a gRPC metadata key, which is ignored`);
        else if (!keys.includes(key)) keys.push(key);
      }
      if (keys.length === 0)
        return { ok: false, issue: dropped.length > 0 ? 'has no valid metadata key' : 'has no entries' };
      return { ok: true, value: keys, dropped };
    },
    show: (value) => value.join(','),
    redactRaw: asIs,
  };
}

/** A W3C traceparent header value: version 00 layout, no all-zero ids, version ff forbidden. */
export function traceparent(): Kind<string> {
  const schema = z.string().check(
    z.regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/, {
      error: 'is not a W3C traceparent (lowercase hex: 2-32-16-2 digits joined by "-")',
    }),
    z.refine((value) => !value.startsWith('ff-'), { error: 'has the forbidden version ff' }),
    z.refine((value) => !/^..-0{32}-/.test(value), { error: 'has an all-zero trace id' }),
    z.refine((value) => !/-0{16}-..$/.test(value), { error: 'has an all-zero parent id' }),
  );
  return {
    accepted: 'a W3C traceparent such as 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    parse: (value) => fromSchema(schema, value),
    show: asIs,
    redactRaw: asIs,
  };
}

/**
 * A W3C header made of `key=value` members (tracestate, baggage), kept as text for the propagator
 * to read; members are checked for the `=` they need, and values of secret-looking keys are hidden.
 */
export function memberList(maxMembers: number): Kind<string> {
  return {
    accepted: `comma-separated key=value members, at most ${maxMembers}`,
    parse(value) {
      const members = splitList(value);
      const badAt = members.findIndex((member) => !/^[^=\s]+\s*=/.test(member));
      if (badAt !== -1) return { ok: false, issue: `member ${badAt + 1} is not key=value` };
      if (members.length > maxMembers) return { ok: false, issue: `has ${members.length} members` };
      return { ok: true, value: members.join(','), dropped: [] };
    },
    show: redactKeyValueText,
    redactRaw: redactKeyValueText,
  };
}
