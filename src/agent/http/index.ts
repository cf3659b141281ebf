/**
 * Outgoing HTTP telemetry: client spans, the http.client.request.duration histogram and trace
 * context propagation for fetch and node:http(s), on Node, Bun and Deno. docs/http.md describes what
 * is recorded and how each runtime's clients are reached.
 */
import { trace } from '@opentelemetry/api';
import type { Config } from '../../env/index.ts';
import { VERSION } from '../../version.ts';
import { fetchPublishesDiagnostics } from '../runtime/runtime.ts';
import type { SharedInstruments } from '../sdk/shared-instruments.ts';
import { wrapGlobalFetch } from './fetch.ts';
import { headerCapture } from './headers.ts';
import { subscribeNodeHttp } from './node-http.ts';
import { HttpClientTelemetry } from './telemetry.ts';
import { subscribeUndici } from './undici.ts';

export const SCOPE = 'rpcplugin-telemetry/http';

const HTTP_SCOPE = { name: SCOPE, version: VERSION };

export function instrumentHttp(config: Config, { histograms }: SharedInstruments): void {
  const telemetry = new HttpClientTelemetry(
    trace.getTracer(SCOPE, VERSION),
    histograms.enabled ? (name, options) => histograms.create(HTTP_SCOPE, name, options) : undefined,
    headerCapture(config.http.captureRequestHeaders, 'request'),
    headerCapture(config.http.captureResponseHeaders, 'response'),
    config.propagators.length > 0,
  );
  subscribeNodeHttp(telemetry);
  // Node's fetch is undici, which reports each request on diagnostics channels; Bun's and Deno's do not.
  if (fetchPublishesDiagnostics()) subscribeUndici(telemetry);
  else wrapGlobalFetch(telemetry);
}
