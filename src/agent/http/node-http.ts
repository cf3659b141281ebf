/**
 * node:http and node:https client requests through the diagnostics channels Node publishes (and Bun
 * and Deno, whose node:http publishes the same ones): no patch of the modules, so CommonJS and ES
 * module apps, and every copy of the builtin, are reached alike.
 *
 * - `http.client.request.created` (Node 22 and later, Bun, Deno): the request exists and its headers
 *   are not written yet, so the span starts and the trace context is set as headers here.
 * - Node 20 has no `created`, and its `start` comes after the headers are composed (setHeader throws
 *   ERR_HTTP_HEADERS_SENT there). So on Node 20 only, the span starts when ClientRequest composes its
 *   headers (`_storeHeader`, which every request calls once, from its constructor or its first write),
 *   and the trace context is set just before: the one internal method the agent wraps, on a Node line
 *   that no longer changes.
 * - `http.client.response.finish`: the response's headers arrived (despite the name); the span ends
 *   with the response's `end`, or with its `close` when it was cut short.
 * - `http.client.request.error`: the request failed. The agent never listens for `error` itself: a
 *   listener would keep an unhandled error from reaching the app.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import { context, type TextMapSetter } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { nodeHttpPublishesRequestCreated } from '../runtime/runtime.ts';
import type { HttpCall, HttpClientTelemetry } from './telemetry.ts';

const headerSetter: TextMapSetter<ClientRequest> = {
  set(request, name, value) {
    request.setHeader(name, value);
  },
};

const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };

export function subscribeNodeHttp(telemetry: HttpClientTelemetry): void {
  const calls = new WeakMap<ClientRequest, HttpCall>();

  const begin = (request: ClientRequest): HttpCall | undefined => {
    if (calls.has(request)) return undefined;
    const parent = context.active();
    if (isTracingSuppressed(parent)) return undefined;
    const origin = originOf(request);
    const call = telemetry.start(
      { method: request.method, origin, url: origin + request.path, headers: (name) => headerValue(request, name) },
      parent,
    );
    calls.set(request, call);
    // The backstop for a request that ends with no response and no error published (destroyed quietly).
    request.once('close', () => {
      if (!call.ended && call.status === undefined) telemetry.fail(call, closedEarly('request'));
    });
    return call;
  };

  diagnosticsChannel.subscribe('http.client.request.created', (message) => {
    const { request } = message as { request: ClientRequest };
    const call = begin(request);
    if (call !== undefined) telemetry.inject(call, request, headerSetter);
  });

  if (!nodeHttpPublishesRequestCreated()) composeHeadersWith(begin, telemetry);

  diagnosticsChannel.subscribe('http.client.response.finish', (message) => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    const call = calls.get(request);
    if (call === undefined) return;
    telemetry.respond(call, response.statusCode ?? 0, (name) => response.headers[name]);
    // 'end' and 'close' listeners leave the stream's mode as the app set it (a 'data' listener would not).
    response.once('end', () => telemetry.end(call));
    response.once('close', () => {
      if (response.complete) telemetry.end(call);
      else telemetry.fail(call, response.errored ?? closedEarly('response'));
    });
  });

  diagnosticsChannel.subscribe('http.client.request.error', (message) => {
    const { request, error } = message as { request: ClientRequest; error: unknown };
    const call = calls.get(request);
    if (call !== undefined) telemetry.fail(call, error);
  });
}

/** The part of ClientRequest's prototype that composes a request's header block (Node 20). */
interface HeaderComposer {
  _storeHeader?: (this: ClientRequest, firstLine: string, headers: unknown) => unknown;
}

/** Node 20: starts the span and sets the trace context as ClientRequest composes its headers. */
function composeHeadersWith(begin: (request: ClientRequest) => HttpCall | undefined, telemetry: HttpClientTelemetry) {
  const prototype = http.ClientRequest.prototype as unknown as HeaderComposer;
  const storeHeader = prototype._storeHeader;
  if (typeof storeHeader !== 'function')
    throw new Error('node:http has no ClientRequest _storeHeader to start spans at');
  prototype._storeHeader = function (this: ClientRequest, firstLine: string, headers: unknown) {
    try {
      const call = begin(this);
      // Headers given as an array are composed from that array, not from setHeader's table.
      if (call !== undefined && !Array.isArray(headers)) telemetry.inject(call, this, headerSetter);
    } catch {
      // The request goes out as the app made it.
    }
    return storeHeader.call(this, firstLine, headers);
  };
}

/** `scheme://host:port` of a request: the port from the Host header that Node composed (`host:port`). */
function originOf(request: ClientRequest): string {
  const protocol = request.protocol ?? 'http:';
  const host = request.host.includes(':') && !request.host.startsWith('[') ? `[${request.host}]` : request.host;
  const hostHeader = request.getHeader('host');
  let port = DEFAULT_PORTS[protocol] ?? '';
  if (typeof hostHeader === 'string' && hostHeader.startsWith(`${host}:`)) port = hostHeader.slice(host.length + 1);
  return `${protocol}//${host}${port === DEFAULT_PORTS[protocol] ? '' : `:${port}`}`;
}

function headerValue(request: ClientRequest, name: string): string | string[] | undefined {
  const value = request.getHeader(name);
  return value === undefined ? undefined : Array.isArray(value) ? value : String(value);
}

/** Why a request or response ended without an error of its own: closed before it was complete. */
function closedEarly(what: 'request' | 'response'): Error {
  const error = new Error(
    what === 'request' ? 'the request was closed before a response arrived' : 'the response was closed before its end',
  );
  error.name = 'AbortError';
  return error;
}
