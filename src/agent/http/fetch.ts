/**
 * fetch on runtimes whose fetch publishes no diagnostics_channel messages (Bun's and Deno's native
 * fetch): `globalThis.fetch` is replaced by a function that starts the span, adds the trace context
 * to the request's headers and calls the runtime's fetch. It stays transparent: the same Response
 * object, the same errors (rejections and throws), the same properties on the function
 * (`fetch.preconnect` on Bun), and a request the agent cannot read goes out untouched.
 *
 * The span ends when the response body has been read to its end (by text(), json(), arrayBuffer(),
 * blob(), bytes(), formData() or a reader of `body`), when that reading fails, or at once for a
 * response without a body. One fetch is one span: the runtime follows redirects inside it, out of
 * the agent's sight (docs/http.md).
 */
import { context, type TextMapSetter } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import type { HttpCall, HttpClientTelemetry } from './telemetry.ts';

const headersSetter: TextMapSetter<Headers> = {
  set(headers, name, value) {
    headers.set(name, value);
  },
};

const WRAPPED: unique symbol = Symbol.for('rpcplugin-telemetry.http.fetch');

const BODY_READERS = ['text', 'json', 'arrayBuffer', 'blob', 'bytes', 'formData'] as const;

type Fetch = typeof globalThis.fetch;

export function wrapGlobalFetch(telemetry: HttpClientTelemetry): void {
  const original = globalThis.fetch as Fetch & { [WRAPPED]?: true };
  if (typeof original !== 'function' || original[WRAPPED]) return;

  // A method, which has no `prototype` of its own (Bun's fetch has none; Deno's, copied below, has).
  // Rest parameters: the runtime's fetch gets exactly the arguments the app gave, however many.
  const { fetch } = {
    fetch(this: unknown, ...args: [input: string | URL | Request, init?: RequestInit]): Promise<Response> {
      const parent = context.active();
      if (isTracingSuppressed(parent)) return Reflect.apply(original, this, args);
      const [input, init] = args;
      let call: HttpCall;
      let sentInit: RequestInit;
      try {
        const request = input instanceof Request ? input : undefined;
        const url = request?.url ?? (input instanceof URL ? input.href : String(input));
        const headers = new Headers(init?.headers ?? request?.headers);
        const parsed = new URL(url);
        call = telemetry.start(
          {
            method: fetchMethod(init?.method ?? request?.method),
            origin: parsed.origin,
            url: parsed.href,
            headers: (name) => headers.get(name) ?? undefined,
          },
          parent,
        );
        telemetry.inject(call, headers, headersSetter);
        sentInit = { ...init, headers };
      } catch {
        // Something the agent cannot read (fetch itself will say what is wrong with it).
        return Reflect.apply(original, this, args);
      }
      let pending: Promise<Response>;
      try {
        pending = Reflect.apply(original, this, [input, sentInit]);
      } catch (error) {
        telemetry.fail(call, error);
        throw error;
      }
      return pending.then(
        (response) => {
          telemetry.respond(call, response.status, (name) => response.headers.get(name) ?? undefined);
          watchBody(telemetry, call, response);
          return response;
        },
        (error: unknown) => {
          telemetry.fail(call, error);
          throw error;
        },
      );
    },
  };
  Object.defineProperties(fetch, Object.getOwnPropertyDescriptors(original));
  Object.defineProperty(fetch, WRAPPED, { value: true });
  globalThis.fetch = fetch as Fetch;
}

/** Ends the call when the response body has been read, or at once when there is none. */
function watchBody(telemetry: HttpClientTelemetry, call: HttpCall, response: Response): void {
  const prototype = Object.getPrototypeOf(response) as Record<string, unknown>;
  const bodyGetter = Object.getOwnPropertyDescriptor(Response.prototype, 'body')?.get;
  const body = response.body;
  if (body === null || bodyGetter === undefined) {
    telemetry.end(call);
    return;
  }
  for (const name of BODY_READERS) {
    const read = prototype[name];
    if (typeof read !== 'function') continue;
    Object.defineProperty(response, name, {
      configurable: true,
      writable: true,
      value(this: Response) {
        const reading = Reflect.apply(read, this, []) as Promise<unknown>;
        reading.then(
          () => telemetry.end(call),
          (error: unknown) => telemetry.fail(call, error),
        );
        return reading;
      },
    });
  }
  // Read through `body` itself: the same stream, through a pass-through that sees its end.
  let watched: ReadableStream<Uint8Array> | undefined;
  Object.defineProperty(response, 'body', {
    configurable: true,
    get(this: Response) {
      watched ??= body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          flush: () => telemetry.end(call),
          // Where the runtime supports it: a reader that cancels the body ends the request there.
          cancel: (reason: unknown) => telemetry.fail(call, reason),
        } as ConstructorParameters<typeof TransformStream<Uint8Array, Uint8Array>>[0]),
      );
      return watched;
    },
  });
}

/** Fetch's own normalization: these six methods in any case are sent uppercase, the others as given. */
const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

function fetchMethod(method: string | undefined): string {
  if (method === undefined) return 'GET';
  const upper = method.toUpperCase();
  return NORMALIZED_METHODS.has(upper) ? upper : method;
}
