/**
 * Watching the lines an app writes to stdout, without changing a byte, the order of writes or
 * their timing: each wrapper calls the original first, with the same arguments and `this`, and only
 * then looks at what was written. What the wrappers see:
 *
 * - `process.stdout.write` on every runtime (strings and byte arrays);
 * - `console.log`, `console.info` and `console.debug`: on Node they go through
 *   `process.stdout.write`, which sees the exact bytes; on Bun and Deno they write natively, and
 *   what is seen is `util.format` of the arguments plus a line break (exact for strings).
 *
 * Not seen: Deno.stdout.write/writeSync, Bun.write(Bun.stdout), other console methods that print
 * on stdout (dir, table, group…) on Bun and Deno, and writes to file descriptor 1 by fs.
 */
import process from 'node:process';
import { StringDecoder } from 'node:string_decoder';
import { format } from 'node:util';

/** Enough for any handshake line (a 7-field line with a P-521 certificate is under 1 KiB). */
const LONGEST_LINE = 64 * 1024;
const CONSOLE_METHODS = ['log', 'info', 'debug'] as const;

type Write = (this: unknown, ...args: unknown[]) => unknown;
type ConsoleMethod = (...args: unknown[]) => void;

interface Wrapped<F> {
  readonly owner: object;
  readonly key: string;
  readonly original: F;
  readonly wrapper: F;
  readonly hadOwn: boolean;
}

export interface StdoutLines {
  /** Stops watching and puts back each original that nobody has wrapped since. */
  stop(): void;
}

/** Calls `onLine` with each complete stdout line (without its line break) until `stop()`. */
export function watchStdoutLines(onLine: (line: string) => void): StdoutLines {
  let watching = true;
  let pending = '';
  // Inside a console call: Node's console writes through process.stdout.write, seen there exactly.
  let consoleDepth = 0;
  let writtenDuringConsole = false;
  const decoder = new StringDecoder('utf8');

  const observe = (text: string) => {
    pending += text;
    let end = pending.indexOf('\n');
    while (end !== -1 && watching) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
      end = pending.indexOf('\n');
    }
    if (pending.length > LONGEST_LINE) pending = pending.slice(-LONGEST_LINE);
  };
  // Observing must never disturb the app (rule 2): a failure here costs a missed line, nothing more.
  const safely = (look: () => void) => {
    try {
      look();
    } catch {}
  };

  const stdout = process.stdout as unknown as Record<string, unknown>;
  const write = wrap<Write>(
    stdout,
    'write',
    (original) =>
      function watchedWrite(this: unknown, ...args: unknown[]) {
        const result = original.apply(this, args);
        if (watching) {
          if (consoleDepth > 0) writtenDuringConsole = true;
          safely(() => observe(textOf(args[0], args[1], decoder)));
        }
        return result;
      },
  );
  const consoles = CONSOLE_METHODS.map((key) =>
    wrap<ConsoleMethod>(
      console as unknown as Record<string, unknown>,
      key,
      (original) =>
        function watchedConsole(this: unknown, ...args: unknown[]) {
          if (!watching) return original.apply(this, args);
          consoleDepth += 1;
          const before = writtenDuringConsole;
          writtenDuringConsole = false;
          try {
            original.apply(this, args);
          } finally {
            consoleDepth -= 1;
            const seen = writtenDuringConsole;
            writtenDuringConsole = before || seen;
            if (!seen && watching) safely(() => observe(`${format(...args)}\n`));
          }
        },
    ),
  );

  return {
    stop() {
      watching = false;
      pending = '';
      for (const wrapped of [write, ...consoles]) restore(wrapped);
    },
  };
}

function wrap<F extends (...args: never[]) => unknown>(
  owner: Record<string, unknown>,
  key: string,
  makeWrapper: (original: F) => F,
): Wrapped<F> | undefined {
  const original = owner[key];
  if (typeof original !== 'function') return undefined;
  const wrapper = makeWrapper(original as F);
  const hadOwn = Object.hasOwn(owner, key);
  owner[key] = wrapper;
  return { owner, key, original: original as F, wrapper, hadOwn };
}

/** Puts the original back, unless someone wrapped ours since: then ours stays, passing straight through. */
function restore<F>(wrapped: Wrapped<F> | undefined): void {
  if (wrapped === undefined) return;
  const owner = wrapped.owner as Record<string, unknown>;
  if (owner[wrapped.key] !== wrapped.wrapper) return;
  if (wrapped.hadOwn) owner[wrapped.key] = wrapped.original;
  else delete owner[wrapped.key];
  // A prototype method shadowed by an accessor or a frozen object would not come back by delete.
  if (owner[wrapped.key] !== wrapped.original) owner[wrapped.key] = wrapped.original;
}

function textOf(chunk: unknown, encoding: unknown, decoder: StringDecoder): string {
  if (typeof chunk === 'string') {
    if (typeof encoding === 'string' && Buffer.isEncoding(encoding) && !/^utf-?8$/i.test(encoding)) {
      return Buffer.from(chunk, encoding).toString('utf8');
    }
    return chunk;
  }
  if (chunk instanceof Uint8Array) return decoder.write(chunk as Buffer);
  return '';
}
