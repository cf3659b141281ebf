/**
 * Starting the OpenTelemetry SDK from a validated Config: providers for the three signals, the
 * context manager and propagators, registered as the API's globals, and the exit hooks.
 * Built from the SDK components rather than NodeSDK (design: "Dependencies and packaging").
 */
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { Config } from '../../env/index.ts';
import { beginFinalFlush } from '../exporters/otlp-http-transport.ts';
import { exportSynchronously } from '../lifecycle/exit-export.ts';
import { installExitHooks } from '../lifecycle/exit-hooks.ts';
import { settleWithin } from '../lifecycle/settle-within.ts';
import { createLogPipeline } from '../pipelines/logs.ts';
import { createMetricPipeline } from '../pipelines/metrics.ts';
import { createTracePipeline } from '../pipelines/traces.ts';
import type { RunningAgent } from '../preload/shared-state.ts';
import { buildPropagator } from '../propagation/propagators.ts';
import { isPermitted } from '../runtime/runtime.ts';
import { installDiagnostics, warn } from './diagnostics.ts';
import { startInstrumentations } from './instrumentations.ts';
import { buildResource } from './resource.ts';

/** Where the agent runs: the main thread owns the process's signals; a worker only its own exit. */
export type AgentThread = 'main' | 'worker';

export function startAgent(config: Config, thread: AgentThread = 'main'): RunningAgent {
  installDiagnostics(config.logLevel);
  config = withinPermissions(config);
  const resource = buildResource(config);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(buildPropagator(config.propagators));

  const tracePipeline = createTracePipeline(config, resource);
  const logPipeline = createLogPipeline(config, resource);
  const tracerProvider = tracePipeline.provider;
  const metricPipeline = createMetricPipeline(config, resource);
  const meterProvider = metricPipeline.provider;
  const loggerProvider = logPipeline.provider;
  if (!trace.setGlobalTracerProvider(tracerProvider)) {
    warn('another OpenTelemetry tracer provider was registered first (Deno with OTEL_DENO=true?); spans go there.');
  }
  metrics.setGlobalMeterProvider(meterProvider);
  logs.setGlobalLoggerProvider(loggerProvider);
  startInstrumentations(config, { histograms: metricPipeline.histograms });

  const timeoutMs = config.shutdownTimeoutMs;
  const providers = [tracerProvider, meterProvider, loggerProvider];
  let stopping: Promise<boolean> | undefined;
  // Once the asynchronous shutdown has had its turn (done or timed out), the exit event adds no second wait.
  let stopped = false;
  const agent: RunningAgent = {
    async forceFlush() {
      await settleWithin(Promise.allSettled(providers.map((provider) => provider.forceFlush())), timeoutMs);
    },
    shutdown() {
      if (stopping === undefined) beginFinalFlush();
      stopping ??= settleWithin(Promise.allSettled(providers.map((provider) => provider.shutdown())), timeoutMs).then(
        (done) => {
          stopped = true;
          return done;
        },
      );
      return stopping;
    },
  };
  installExitHooks(agent, timeoutMs, thread, () => {
    if (stopped) return;
    // Metrics are left out: collecting them is asynchronous all the way down.
    const requests = [tracePipeline.takePending(), logPipeline.takePending()].filter(
      (request) => request !== undefined,
    );
    if (!exportSynchronously(requests, timeoutMs)) {
      warn(`telemetry pending at exit was not sent within RPCPLUGIN_SHUTDOWN_TIMEOUT (${timeoutMs} ms).`);
    }
  });
  return agent;
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
