/**
 * Starting the OpenTelemetry SDK from a validated Config: providers for the three signals, the
 * context manager and propagators, registered as the API's globals, and the exit hooks.
 * Built from the SDK components rather than NodeSDK (docs/architecture.md, "Upstream pieces we replaced").
 */
import { metrics, propagation, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import type { Config } from '../../env/index.ts';
import { endOpenLaunches } from '../host/index.ts';
import { startLifecycle } from '../lifecycle/lifecycle.ts';
import { createLogPipeline } from '../pipelines/logs.ts';
import { createMetricPipeline } from '../pipelines/metrics.ts';
import { createTracePipeline } from '../pipelines/traces.ts';
import { startPluginRole } from '../plugin/index.ts';
import type { AgentThread, RunningAgent } from '../preload/shared-state.ts';
import { buildPropagator } from '../propagation/propagators.ts';
import { isPermitted } from '../runtime/runtime.ts';
import { startContextManager } from './context-manager.ts';
import { installDiagnostics, warn } from './diagnostics.ts';
import { startInstrumentations } from './instrumentations.ts';
import { buildResource } from './resource.ts';

export function startAgent(config: Config, thread: AgentThread = 'main'): RunningAgent {
  installDiagnostics(config.logLevel);
  config = withinPermissions(config);
  const resource = buildResource(config);
  startContextManager();
  propagation.setGlobalPropagator(buildPropagator(config.propagators));

  // Handed to every transport; the lifecycle aborts it when the final flush begins.
  const finalFlush = new AbortController();
  const tracePipeline = createTracePipeline(config, resource, finalFlush.signal);
  const logPipeline = createLogPipeline(config, resource, finalFlush.signal);
  const metricPipeline = createMetricPipeline(config, resource, finalFlush.signal);
  if (!trace.setGlobalTracerProvider(tracePipeline.provider)) {
    warn('another OpenTelemetry tracer provider was registered first (Deno with OTEL_DENO=true?); spans go there.');
  }
  metrics.setGlobalMeterProvider(metricPipeline.provider);
  logs.setGlobalLoggerProvider(logPipeline.provider);
  startInstrumentations(config, { histograms: metricPipeline.histograms });
  // The plugin's start span is the main thread's: a worker is not the process the host launched.
  const plugin = thread === 'main' ? startPluginRole(config) : undefined;

  return startLifecycle({
    providers: [tracePipeline.provider, metricPipeline.provider, logPipeline.provider],
    // Whatever ends the process, the unfinished start span and the stop span end before the final flush
    // takes the spans, and so do the launches of plugins that have not handshaken yet.
    beforeFinalFlush: () => {
      plugin?.beforeFinalFlush();
      endOpenLaunches();
    },
    takePending: () =>
      [tracePipeline.takePending(), logPipeline.takePending(), metricPipeline.takePending()].filter(
        (request) => request !== undefined,
      ),
    finalFlush,
    timeoutMs: config.shutdownTimeoutMs,
    thread,
  });
}

/**
 * What Deno would refuse, said once at start instead of as export errors (or a prompt): without
 * --allow-sys the resource goes without host and OS attributes; a signal whose collector Deno may
 * not reach is not exported at all. Node and Bun grant everything, and get `config` back as it is.
 */
function withinPermissions(config: Config): Config {
  const missing: string[] = [];
  const sys = (['hostname', 'osRelease'] as const).filter((kind) => !isPermitted({ name: 'sys', kind }));
  if (sys.length > 0) missing.push(`--allow-sys=${sys.join(',')} (host and OS attributes are left out)`);
  const denied = new Set<string>();
  const reachable = <S extends Config['traces'] | Config['metrics'] | Config['logs']>(signal: S): S => {
    if (!signal.exporters.includes('otlp')) return signal;
    const { host } = new URL(signal.otlp.endpoint);
    if (isPermitted({ name: 'net', host })) return signal;
    denied.add(host);
    return { ...signal, exporters: signal.exporters.filter((exporter) => exporter !== 'otlp') };
  };
  const permitted = {
    ...config,
    traces: reachable(config.traces),
    metrics: reachable(config.metrics),
    logs: reachable(config.logs),
  };
  if (denied.size > 0) missing.push(`--allow-net=${[...denied].join(',')} (those signals are not exported)`);
  if (missing.length > 0) warn(`Deno permissions missing: ${missing.join('; ')}.`);
  return permitted;
}
