/**
 * Node's built-in fetch (and the undici package, which shares its channel names) through undici's
 * diagnostics_channel messages: no hook, no patch, and the same for CommonJS and ES module apps.
 * `undici:request:create` runs in the caller's context (the request is made inside fetch's promise
 * chain, which AsyncLocalStorage follows), so the span's parent is the caller's span, and
 * `request.addHeader` puts the trace context on the wire. The span ends at `undici:request:trailers`,
 * which undici publishes when the response body has been read to its end, or at `undici:request:error`.
 * Each request undici makes is one span: a redirect that fetch follows is a second request, as the
 * conventions ask.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { context, type TextMapSetter } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { type HeaderReader, readHeaderBlock, readRawPairs } from './headers.ts';
import type { HttpCall, HttpClientTelemetry } from './telemetry.ts';

/** The part of undici's Request the agent reads (undici 6 to 8: Node 20 to 26). */
interface UndiciRequest {
  readonly method: string;
  readonly origin: string | URL;
  readonly path: string;
  /** undici 6: a raw header block; 7 and later: [name, value, …]. */
  readonly headers: string | readonly unknown[];
  addHeader(name: string, value: string): unknown;
}

interface UndiciResponse {
  readonly statusCode: number;
  readonly headers: readonly unknown[];
}

const setter: TextMapSetter<UndiciRequest> = {
  set(request, name, value) {
    request.addHeader(name, value);
  },
};

export function subscribeUndici(telemetry: HttpClientTelemetry): void {
  const calls = new WeakMap<UndiciRequest, HttpCall>();

  diagnosticsChannel.subscribe('undici:request:create', (message) => {
    const { request } = message as { request: UndiciRequest };
    const parent = context.active();
    if (isTracingSuppressed(parent)) return;
    const origin = String(request.origin);
    const call = telemetry.start(
      { method: request.method, origin, url: origin + request.path, headers: requestHeaders(request) },
      parent,
    );
    calls.set(request, call);
    telemetry.inject(call, request, setter);
  });

  diagnosticsChannel.subscribe('undici:request:headers', (message) => {
    const { request, response } = message as { request: UndiciRequest; response: UndiciResponse };
    const call = calls.get(request);
    if (call !== undefined) {
      telemetry.respond(call, response.statusCode, (name) => readRawPairs(response.headers, name));
    }
  });

  diagnosticsChannel.subscribe('undici:request:trailers', (message) => {
    const call = calls.get((message as { request: UndiciRequest }).request);
    if (call !== undefined) telemetry.end(call);
  });

  diagnosticsChannel.subscribe('undici:request:error', (message) => {
    const { request, error } = message as { request: UndiciRequest; error: unknown };
    const call = calls.get(request);
    if (call !== undefined) telemetry.fail(call, error);
  });
}

function requestHeaders(request: UndiciRequest): HeaderReader {
  const { headers } = request;
  return typeof headers === 'string'
    ? (name) => readHeaderBlock(headers, name)
    : (name) => (Array.isArray(headers) ? readRawPairs(headers, name) : undefined);
}
