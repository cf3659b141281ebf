/**
 * The kinds of value an environment variable can hold, after the OpenTelemetry "Environment Variable
 * Specification": each kind pairs a zod schema with the words that say what it accepts. A kind parses
 * the trimmed, non-empty text of one variable and never throws; lists keep their good entries and
 * report the others.
 */
import * as z from 'zod/mini';
import { firstFew, quoteExcerpt } from './printable.ts';
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

/**
 * A kind's schema, built at its first parse: most variables are not set, so most schemas are never
 * needed, and building all of them with zod was a third of the preload's own start-up time.
 */
function lazySchema<T>(build: () => z.ZodMiniType<T, string>): () => z.ZodMiniType<T, string> {
  let schema: z.ZodMiniType<T, string> | undefined;
  return () => {
    schema ??= build();
    return schema;
  };
}

const asIs = (text: string): string => text;
const lowercase = () =>
  z.pipe(
    z.string(),
    z.transform((text: string) => text.toLowerCase()),
  );

export function boolean(): Kind<boolean> {
  const schema = lazySchema(() =>
    z.pipe(
      lowercase(),
      z.pipe(
        z.enum(['true', 'false'], { error: 'is not true or false' }),
        z.transform((text) => text === 'true'),
      ),
    ),
  );
  return {
    accepted: 'true or false (any case)',
    parse: (text) => fromSchema(schema(), text),
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
  const schema = lazySchema(() =>
    z.pipe(
      z.string().check(z.regex(/^[+-]?\d+$/, { error: 'is not a whole number' })),
      z.pipe(
        z.transform(Number),
        z.number().check(z.minimum(min, { error: `is below ${min}` }), z.maximum(max, { error: `is above ${max}` })),
      ),
    ),
  );
  const suffix = unit === 'ms' ? ' (milliseconds)' : '';
  return {
    accepted: `a whole number from ${min} to ${max}${suffix}`,
    parse: (text) => fromSchema(schema(), text),
    show: String,
    redactRaw: asIs,
  };
}

export function ratio(): Kind<number> {
  const schema = lazySchema(() =>
    z.pipe(
      // One way to match each digit run: `\d+\.?\d*` backtracks quadratically on a long run of digits.
      z.string().check(z.regex(/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/, { error: 'is not a number' })),
      z.pipe(
        z.transform(Number),
        z.number().check(z.minimum(0, { error: 'is below 0' }), z.maximum(1, { error: 'is above 1' })),
      ),
    ),
  );
  return {
    accepted: 'a number from 0 to 1',
    parse: (text) => fromSchema(schema(), text),
    show: String,
    redactRaw: asIs,
  };
}

function listOf(values: readonly string[]): string {
  return values.join(', ');
}

export function enumeration<const V extends string>(values: readonly V[]): Kind<V> {
  const schema = lazySchema(() =>
    z.pipe(lowercase(), z.enum(values as [V, ...V[]], { error: 'is not a known value' })),
  );
  return {
    accepted: `one of ${listOf(values)} (any case)`,
    parse: (text) => fromSchema(schema(), text),
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

/** How many bad entries of a list a message names; the others are counted. */
const NAMED_ENTRIES = 3;
/** Longest entry a message quotes whole. */
const ENTRY_QUOTE_LIMIT = 40;

/**
 * The bad entries of one list, gathered for a single issue: however long the list, the issue counts
 * the distinct bad entries and quotes the first few, so it stays a line.
 */
class BadEntries {
  private readonly seen = new Set<string>();
  readonly named: string[] = [];

  get count(): number {
    return this.seen.size;
  }

  add(entry: string): void {
    if (this.seen.has(entry)) return;
    this.seen.add(entry);
    if (this.named.length < NAMED_ENTRIES) this.named.push(quoteExcerpt(entry, ENTRY_QUOTE_LIMIT));
  }

  /** "has an unknown entry "x", which is ignored" or "has 5 unknown entries, "x", "y", "z" and 2 more, which are ignored". */
  issue(one: (entry: string) => string, many: string): string {
    if (this.count === 1) return `${one(this.named[0] as string)}, which is ignored`;
    return `has ${this.count} ${many}, ${firstFew(this.named, this.count)}, which are ignored`;
  }
}

/**
 * A comma-separated list of known names, case-insensitive, duplicates dropped. Unknown entries are
 * reported (in one issue) and ignored; when none is left the default is used.
 */
export function choiceList<const V extends string>(
  values: readonly V[],
  { exclusive = [], foreign = [] }: ChoiceListOptions<V> = {},
): Kind<readonly V[]> {
  // A set, not a zod enum: a list may hold thousands of entries, and a failed zod parse is slow.
  const known = new Set<string>(values);
  const ignored = new Set(foreign);
  return {
    accepted: `a comma-separated list of ${listOf(values)} (any case)`,
    parse(text) {
      const chosen: V[] = [];
      const unknown = new BadEntries();
      for (const item of splitList(text)) {
        const name = item.toLowerCase();
        if (ignored.has(name)) continue;
        if (!known.has(name)) unknown.add(item);
        else if (!chosen.includes(name as V)) chosen.push(name as V);
      }
      const dropped: string[] = [];
      if (unknown.count > 0) dropped.push(unknown.issue((item) => `has an unknown entry ${item}`, 'unknown entries'));
      const alone = chosen.find((name) => exclusive.includes(name));
      if (alone !== undefined && chosen.length > 1) {
        dropped.push(`combines "${alone}" with other entries, so only "${alone}" is used`);
        return { ok: true, value: [alone], dropped };
      }
      if (chosen.length === 0) {
        if (ignored.size > 0 && unknown.count === 0) return { ok: true, value: [], dropped };
        return { ok: false, issue: unknown.count > 0 ? 'has no known entry' : 'has no entries' };
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

// A `%` not followed by two hex digits: caught without the cost of an exception, which matters when
// a value holds thousands of entries.
const BROKEN_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
// A lone surrogate decodes as is but cannot be encoded again (show() would throw).
const LONE_SURROGATE = /\p{Cs}/u;

/** The percent-decoded text, or undefined when it is not valid percent-encoded UTF-8. */
function percentDecoded(encoded: string): string | undefined {
  if (BROKEN_ESCAPE.test(encoded)) return undefined;
  try {
    const decoded = encoded.includes('%') ? decodeURIComponent(encoded) : encoded;
    return LONE_SURROGATE.test(decoded) ? undefined : decoded;
  } catch {
    return undefined;
  }
}

/**
 * `key=value` pairs separated by commas, values percent-decoded (W3C Baggage octets, as the spec
 * asks for OTEL_RESOURCE_ATTRIBUTES and the OTLP headers). A bad entry is reported by its position,
 * never quoted (it may be a secret pasted in the wrong place), and ignored; a later duplicate key wins.
 */
export function keyValues({
  secret = false,
  key: keyRule,
}: KeyValueOptions = {}): Kind<Readonly<Record<string, string>>> {
  /** The pair an entry holds, or why it is bad ("without "="", …). */
  const readEntry = (item: string): { key: string; value: string } | { issue: string } => {
    const equals = item.indexOf('=');
    if (equals === -1) return { issue: 'without "="' };
    const key = item.slice(0, equals).trim();
    if (key === '') return { issue: 'with an empty key' };
    const value = percentDecoded(item.slice(equals + 1).trim());
    if (value === undefined) return { issue: 'with a value that is not valid percent-encoding' };
    if (keyRule && !keyRule.pattern.test(key)) return { issue: `whose key is not ${keyRule.description}` };
    return { key, value };
  };
  return {
    accepted: `comma-separated key=value pairs, values percent-encoded${keyRule ? `, each key ${keyRule.description}` : ''}`,
    parse(text) {
      const pairs: Record<string, string> = {};
      const bad: string[] = [];
      let badCount = 0;
      let position = 0;
      for (const item of text.split(',')) {
        position += 1;
        if (item.trim() === '') continue;
        const entry = readEntry(item);
        if ('issue' in entry) {
          badCount += 1;
          if (bad.length < NAMED_ENTRIES) bad.push(`entry ${position} ${entry.issue}`);
        } else {
          pairs[entry.key] = entry.value;
        }
      }
      if (Object.keys(pairs).length === 0) {
        return { ok: false, issue: badCount > 0 ? 'has no valid key=value entry' : 'has no entries' };
      }
      const dropped =
        badCount === 0
          ? []
          : badCount === 1
            ? [`has ${bad[0]}, which is ignored`]
            : [`has ${badCount} bad entries, which are ignored: ${firstFew(bad, badCount)}`];
      return { ok: true, value: pairs, dropped };
    },
    show: (value) =>
      Object.entries(value)
        .map(([name, item]) => `${name}=${secret || isSecretName(name) ? REDACTED : encodeURIComponent(item)}`)
        .join(','),
    // Good entries as written, values of secret-looking keys hidden; bad entries hidden whole.
    redactRaw: secret
      ? () => REDACTED
      : (text) =>
          text
            .split(',')
            .map((item) => {
              if (item.trim() === '') return item;
              if ('issue' in readEntry(item)) return REDACTED;
              return redactKeyValueText(item);
            })
            .join(','),
  };
}

export function httpUrl(): Kind<string> {
  const schema = lazySchema(() =>
    z.pipe(
      z.string().check(
        // abort: zod runs every check, and the next one would throw on text that is not a URL.
        z.refine((text) => URL.canParse(text), { error: 'is not a URL', abort: true }),
        z.refine((text) => /^https?:$/.test(new URL(text).protocol), { error: 'is not an http:// or https:// URL' }),
      ),
      // Normalised by WHATWG URL, so the exporter and the env table show the same text.
      z.transform((text: string) => new URL(text).href),
    ),
  );
  return {
    accepted: 'an http:// or https:// URL',
    parse: (text) => fromSchema(schema(), text),
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
  const schema = lazySchema(() =>
    z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'is not an environment variable name' })),
  );
  return {
    accepted: 'an environment variable name (letters, digits, _; not starting with a digit)',
    parse: (value) => fromSchema(schema(), value),
    show: asIs,
    redactRaw: asIs,
  };
}

/** gRPC metadata keys: lowercase ASCII letters, digits, `-`, `_` and `.` (grpc PROTOCOL-HTTP2.md). */
export function metadataKeys(): Kind<readonly string[]> {
  return nameList({
    entry: /^[0-9a-z_.-]+$/,
    accepted: 'a comma-separated list of gRPC metadata keys (letters, digits, -, _ and .; any case)',
    what: 'a gRPC metadata key',
    whats: 'gRPC metadata keys',
    none: 'has no valid metadata key',
  });
}

/** HTTP header names (RFC 9110 tokens), any case; kept lowercase, as Node, Bun and Deno report them. */
export function httpHeaderNames(): Kind<readonly string[]> {
  return nameList({
    entry: /^[!#$%&'*+.^_`|~0-9a-z-]+$/,
    accepted: 'a comma-separated list of HTTP header names (any case)',
    what: 'an HTTP header name',
    whats: 'HTTP header names',
    none: 'has no valid header name',
  });
}

interface NameListSpec {
  /** One valid name, lowercase. */
  readonly entry: RegExp;
  readonly accepted: string;
  /** One entry, with its article: "a gRPC metadata key". */
  readonly what: string;
  readonly whats: string;
  /** The issue when no entry is valid. */
  readonly none: string;
}

/**
 * A comma-separated list of names, kept lowercase, duplicates dropped. An entry with `=` is a value
 * given where only a name belongs (`api-key=…`, as in the OTLP headers variables): it is shown with
 * its value hidden, as it may be a secret.
 */
function nameList(spec: NameListSpec): Kind<readonly string[]> {
  return {
    accepted: spec.accepted,
    parse(value) {
      const names: string[] = [];
      const bad = new BadEntries();
      for (const item of splitList(value)) {
        const name = item.toLowerCase();
        if (!spec.entry.test(name)) bad.add(hideAssignedValue(item));
        else if (!names.includes(name)) names.push(name);
      }
      if (names.length === 0) return { ok: false, issue: bad.count > 0 ? spec.none : 'has no entries' };
      const dropped =
        bad.count === 0
          ? []
          : [
              bad.issue(
                (item) => `has an entry ${item} that is not ${spec.what}`,
                `entries that are not ${spec.whats}`,
              ),
            ];
      return { ok: true, value: names, dropped };
    },
    show: (value) => value.join(','),
    redactRaw: (text) => text.split(',').map(hideAssignedValue).join(','),
  };
}

function hideAssignedValue(item: string): string {
  const equals = item.indexOf('=');
  return equals === -1 ? item : `${item.slice(0, equals)}=${REDACTED}`;
}

/** A W3C traceparent header value: version 00 layout, no all-zero ids, version ff forbidden. */
export function traceparent(): Kind<string> {
  const schema = lazySchema(() =>
    z.string().check(
      z.regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/, {
        error: 'is not a W3C traceparent (lowercase hex: 2-32-16-2 digits joined by "-")',
      }),
      z.refine((value) => !value.startsWith('ff-'), { error: 'has the forbidden version ff' }),
      z.refine((value) => !/^..-0{32}-/.test(value), { error: 'has an all-zero trace id' }),
      z.refine((value) => !/-0{16}-..$/.test(value), { error: 'has an all-zero parent id' }),
    ),
  );
  return {
    accepted: 'a W3C traceparent such as 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    parse: (value) => fromSchema(schema(), value),
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
