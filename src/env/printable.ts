/**
 * How text from the environment is shown in messages and in `rpcplugin-telemetry env`. A value is
 * quoted as a JSON string in which every character a terminal would act on or hide is an escape
 * (`\n`, `\u001b`, `\u007f`, `\u200b`), so a variable can never send an escape sequence to a terminal
 * or split a message over two lines; and a long value is cut, saying how long it was, so a message
 * stays a line whatever the environment holds.
 */

// Controls (C0, DEL, C1), invisible format characters (zero-width space, bidi overrides, byte order
// mark…), the line and paragraph separators, and lone surrogates.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;
// JSON's short escapes, used where JSON has one.
const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\f': '\\f',
  '\r': '\\r',
};

function escapeCharacter(character: string): string {
  const short = SHORT_ESCAPES[character];
  if (short !== undefined) return short;
  let escaped = '';
  for (let index = 0; index < character.length; index++) {
    escaped += `\\u${character.charCodeAt(index).toString(16).padStart(4, '0')}`;
  }
  return escaped;
}

/** `text` with its unprintable characters escaped and nothing else changed, for text shown unquoted. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escapeCharacter);
}

/** `text` as a JSON string literal (`JSON.parse` gives `text` back) made only of printable characters. */
export function quote(text: string): string {
  return `"${printable(text.replace(/["\\]/g, '\\$&'))}"`;
}

const ONE_UNPRINTABLE = new RegExp(`^${UNPRINTABLE.source}$`, 'u');

/**
 * `text` as it is shown (quoted or not), cut once the shown form reaches `limit` characters, with the
 * length of the whole: `"otlp,x,x,x"… (100005 characters)`. Only the part shown is escaped, so a
 * huge value costs no more than a short one.
 */
function excerpt(text: string, limit: number, quoted: boolean): string {
  let shown = '';
  // for…of walks code points: a surrogate pair stays whole, a lone surrogate comes alone.
  for (const character of text) {
    const piece = ONE_UNPRINTABLE.test(character)
      ? escapeCharacter(character)
      : quoted && (character === '"' || character === '\\')
        ? `\\${character}`
        : character;
    if (shown.length + piece.length > limit) {
      return `${quoted ? `"${shown}"` : shown}… (${text.length} characters)`;
    }
    shown += piece;
  }
  return quoted ? `"${shown}"` : shown;
}

/** quote(text), or its beginning and its length when the quoted text would exceed `limit` characters. */
export function quoteExcerpt(text: string, limit: number): string {
  return excerpt(text, limit, true);
}

/** printable(text), or its beginning and its length when it would exceed `limit` characters. */
export function printableExcerpt(text: string, limit: number): string {
  return excerpt(text, limit, false);
}

// What JSON.stringify leaves raw in a string: it escapes C0 controls and lone surrogates itself, and
// writes nothing but ASCII outside strings.
const RAW_IN_JSON = /[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/gu;

/** JSON text (from JSON.stringify) with every unprintable character escaped: the same data, printable. */
export function printableJson(json: string): string {
  return json.replace(RAW_IN_JSON, escapeCharacter);
}

/**
 * The first few of `items` and how many more there are: `"a", "b" and "c"`, `"a", "b", "c" and 7 more`.
 * `total` counts them all; only the first few need to be kept.
 */
export function firstFew(items: readonly string[], total: number): string {
  const rest = total - items.length;
  if (rest > 0) return `${items.join(', ')} and ${rest} more`;
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
