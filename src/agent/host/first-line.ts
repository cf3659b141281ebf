/**
 * Seeing the first line a child process writes on a piped stdout without consuming it: a 'data'
 * listener would switch a paused stream to flowing (and an app that reads later would lose what
 * came before), so the stream's own `push`, through which every chunk enters it on Node, Bun and
 * Deno, is wrapped on that one stream. The wrapper looks at the chunk, then hands it on unchanged;
 * once the line (or the end of the stream) is seen, the original `push` is put back.
 */
import { StringDecoder } from 'node:string_decoder';

/** Longer than any handshake line (a 7-field line with a P-521 certificate is under 1 KiB). */
const LONGEST_LINE = 64 * 1024;

type Push = (this: unknown, chunk: unknown, encoding?: unknown) => boolean;

export interface PushingStream {
  push: Push;
}

export function isPushingStream(stream: unknown): stream is PushingStream {
  return typeof stream === 'object' && stream !== null && typeof (stream as { push?: unknown }).push === 'function';
}

export interface FirstLineWatch {
  /** Stops watching (the line no longer matters) and puts `push` back. */
  stop(): void;
}

/**
 * Calls `onFirstLine` once: with the first line (without its line break), or with undefined when
 * the stream ends first (or the line grows past 64 KiB, which no handshake does).
 */
export function watchFirstLine(stream: PushingStream, onFirstLine: (line: string | undefined) => void): FirstLineWatch {
  const hadOwn = Object.hasOwn(stream, 'push');
  const original = stream.push;
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let done = false;

  const finish = (line: string | undefined) => {
    stop();
    onFirstLine(line);
  };
  const look = (chunk: unknown, encoding: unknown) => {
    if (chunk === null) return finish(undefined);
    pending += textOf(chunk, encoding, decoder);
    const end = pending.indexOf('\n');
    if (end !== -1) {
      const line = pending.slice(0, end);
      return finish(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    if (pending.length > LONGEST_LINE) finish(undefined);
  };
  const wrapper: Push = function watchedPush(this: unknown, chunk, encoding) {
    if (!done) {
      // Looking must never disturb the child's output: a failure here costs the line, nothing more.
      try {
        look(chunk, encoding);
      } catch {
        stop();
      }
    }
    return original.call(this, chunk, encoding);
  };
  function stop() {
    if (done) return;
    done = true;
    pending = '';
    if (stream.push !== wrapper) return;
    if (hadOwn) stream.push = original;
    else delete (stream as Partial<PushingStream>).push;
  }
  stream.push = wrapper;
  return { stop };
}

function textOf(chunk: unknown, encoding: unknown, decoder: StringDecoder): string {
  if (typeof chunk === 'string') {
    return typeof encoding === 'string' && Buffer.isEncoding(encoding) && !/^utf-?8$/i.test(encoding)
      ? Buffer.from(chunk, encoding).toString('utf8')
      : chunk;
  }
  // Bun pushes Uint8Arrays, Node and Deno Buffers.
  if (chunk instanceof Uint8Array) return decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  return '';
}
