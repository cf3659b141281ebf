/**
 * The plugin role (docs/plugin.md): a go-plugin plugin's life from process start to its handshake.
 *
 * - The start span `rpcplugin.plugin.start` begins at the process's time origin and is a child of
 *   the context the host handed down in TRACEPARENT/TRACESTATE/BAGGAGE (the OpenTelemetry
 *   environment carriers, specification/context/env-carriers.md: extracted once, at start, with the
 *   configured propagators), so the host's launch and the plugin's start are one trace.
 * - The handshake line on stdout ends it and records `rpcplugin.handshake.duration`; after that the
 *   stdout watch is taken down, so the app's later writes cost nothing extra.
 * - A plugin that never handshakes gets its start span ended at shutdown, with an error status.
 * - The stop span `rpcplugin.plugin.stop` runs from the moment the end began (the host's Shutdown
 *   call, a signal, process.exit(), the event loop emptying) to the final flush (stop-span.ts).
 *
 * The handshake cookie is never read here: the variable named by RPCPLUGIN_MAGIC_COOKIE_KEY is the
 * app's business, and nothing of it may reach telemetry.
 */
import {
  type Attributes,
  type Histogram,
  metrics,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { Config } from '../../env/index.ts';
import { VERSION } from '../../version.ts';
import { type Handshake, parseHandshakeLine } from '../go-plugin/handshake-line.ts';
import { warn } from '../sdk/diagnostics.ts';
import { watchStdoutLines } from './stdout-lines.ts';
import { watchForStop } from './stop-span.ts';

export const PLUGIN_SCOPE = 'rpcplugin-telemetry/plugin';
export const START_SPAN_NAME = 'rpcplugin.plugin.start';
export const HANDSHAKE_DURATION = 'rpcplugin.handshake.duration';

export const WRONG_FIRST_LINE_WARNING =
  'the plugin wrote something other than its handshake line first on stdout; go-plugin hosts read the first stdout line as the handshake and reject the plugin ("Unrecognized remote plugin message"). Write logs to stderr.';
export const NO_HANDSHAKE_STATUS = 'the plugin ended before it wrote a go-plugin handshake line on stdout';

// Seconds, from a few milliseconds (a warm Node start) to the host's default 1 min handshake timeout.
const HANDSHAKE_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10, 30, 60];

export interface PluginRole {
  /**
   * Called once the final flush begins: ends the start span with an error if the handshake has not
   * come, and records the stop span.
   */
  beforeFinalFlush(): void;
}

const INACTIVE: PluginRole = { beforeFinalFlush() {} };

/** Starts watching for the handshake when the process is a plugin (Config.plugin.role). */
export function startPluginRole(config: Config): PluginRole {
  if (config.plugin.role !== 'plugin') return INACTIVE;
  try {
    return watchForHandshake(config);
  } catch (error) {
    warn(`the plugin start span could not start (${(error as Error).message}); the plugin runs without it.`);
    return INACTIVE;
  }
}

function watchForHandshake(config: Config): PluginRole {
  const tracer = trace.getTracer(PLUGIN_SCOPE, VERSION);
  const parent = parentFromEnvironment(config.parentContext);
  const span = tracer.startSpan(
    START_SPAN_NAME,
    {
      kind: SpanKind.INTERNAL,
      // Epoch milliseconds of the time origin: the process start on every runtime (performance.now() counts from it).
      startTime: performance.timeOrigin,
      attributes: { 'rpcplugin.role': 'plugin' },
    },
    parent,
  );
  const stop = watchForStop(tracer, parent);
  const duration = metrics.getMeter(PLUGIN_SCOPE, VERSION).createHistogram(HANDSHAKE_DURATION, {
    description: 'Time from process start until the plugin wrote its go-plugin handshake line on stdout.',
    unit: 's',
    advice: { explicitBucketBoundaries: HANDSHAKE_BUCKETS },
  });

  let ended = false;
  let warned = false;
  const watch = watchStdoutLines((line) => {
    const handshake = parseHandshakeLine(line);
    if (handshake === undefined) {
      if (!warned) warn(WRONG_FIRST_LINE_WARNING);
      warned = true;
      return;
    }
    finish(span, handshake, duration);
    ended = true;
    watch.stop();
  });

  return {
    beforeFinalFlush() {
      if (!ended) {
        ended = true;
        watch.stop();
        span.setStatus({ code: SpanStatusCode.ERROR, message: NO_HANDSHAKE_STATUS });
        span.end();
      }
      stop.record();
    },
  };
}

function parentFromEnvironment(carriers: Config['parentContext']) {
  const carrier: Record<string, string> = {};
  if (carriers.traceparent !== undefined) carrier.traceparent = carriers.traceparent;
  if (carriers.tracestate !== undefined) carrier.tracestate = carriers.tracestate;
  if (carriers.baggage !== undefined) carrier.baggage = carriers.baggage;
  return propagation.extract(ROOT_CONTEXT, carrier);
}

function finish(span: Span, handshake: Handshake, duration: Histogram): void {
  const seconds = performance.now() / 1000;
  const attributes: Attributes = {
    'rpcplugin.handshake.core_protocol_version': handshake.coreProtocolVersion,
    'rpcplugin.handshake.app_protocol_version': handshake.appProtocolVersion,
    'rpcplugin.handshake.transport': handshake.transport,
    'rpcplugin.handshake.protocol': handshake.protocol,
    'rpcplugin.handshake.tls': handshake.tls,
    'rpcplugin.handshake.multiplex': handshake.multiplex,
  };
  span.setAttributes(attributes);
  span.end();
  // The metric's attributes stay few and bounded: no versions (an app's own numbering).
  duration.record(seconds, {
    'rpcplugin.handshake.transport': handshake.transport,
    'rpcplugin.handshake.protocol': handshake.protocol,
  });
}
