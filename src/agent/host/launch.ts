/**
 * The host's side of a go-plugin launch: the span `rpcplugin.plugin.launch` from the moment the
 * app starts the plugin to the plugin's handshake line, the first line of its stdout
 * (docs/host.md). Its context is what the plugin gets in TRACEPARENT, so the plugin's start span is
 * its child.
 */
import {
  type Attributes,
  type Context,
  context,
  createContextKey,
  type Histogram,
  metrics,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { VERSION } from '../../version.ts';
import { parseHandshakeLine } from '../go-plugin/handshake-line.ts';
import { enterContext } from '../sdk/context-manager.ts';
import type { Environment } from './carriers.ts';
import { isPushingStream, watchFirstLine } from './first-line.ts';

export const HOST_SCOPE = 'rpcplugin-telemetry/host';
export const LAUNCH_SPAN_NAME = 'rpcplugin.plugin.launch';
export const LAUNCH_DURATION = 'rpcplugin.plugin.launch.duration';

/** What go-plugin's Client sets in the plugin's environment (besides the cookie, whose name is configurable). */
const LAUNCH_VARIABLES = ['PLUGIN_PROTOCOL_VERSIONS', 'PLUGIN_MIN_PORT'];

// The same buckets as rpcplugin.handshake.duration: go-plugin hosts give up after 1 min by default.
const LAUNCH_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10, 30, 60];

export const NOT_HANDSHAKE_STATUS = "the plugin's first stdout line is not a go-plugin handshake line";
export const STDOUT_CLOSED_STATUS = "the plugin's stdout closed before its handshake line";
export const HOST_ENDED_STATUS = 'the host ended before the plugin wrote its handshake line';

/** Launches still waiting for their handshake: ended before the final flush, so that they are exported. */
const open = new Set<() => void>();

/** Ends every launch still waiting, with an error status; called before the final flush. */
export function endOpenLaunches(): void {
  for (const endLaunch of [...open]) endLaunch();
}

/** A launch whose trace the launching code was entered into (see `Launches.start`). */
const ENTERED_LAUNCH = createContextKey('rpcplugin-telemetry host: entered launch');

/** A child process as node:child_process returns it, reduced to what the launch span reads. */
export interface LaunchedChild {
  readonly pid?: number | undefined;
  readonly stdout?: unknown;
  emit(event: string | symbol, ...args: unknown[]): boolean;
}

export interface Launch {
  /** The launch span's context: the one the child gets in TRACEPARENT. */
  readonly context: Context;
  /** The child started: watch its stdout for the handshake, its exit and errors. */
  started(child: LaunchedChild, command: string): void;
  /** The launch API threw. */
  failed(error: unknown): void;
}

/**
 * Whether `env`, the environment the caller gave the child, is a go-plugin launch's: it has
 * PLUGIN_PROTOCOL_VERSIONS, PLUGIN_MIN_PORT or the cookie's variable, with a value other than this
 * process's own (a plugin that passes its own environment on to a helper is not launching a plugin).
 * The cookie's value is compared, never kept.
 */
export function isPluginLaunch(
  env: Environment | undefined,
  cookieKey: string,
  own: Environment = process.env,
): boolean {
  if (env === undefined) return false;
  return [...LAUNCH_VARIABLES, cookieKey].some((name) => env[name] !== undefined && env[name] !== own[name]);
}

export class Launches {
  private readonly tracer: Tracer = trace.getTracer(HOST_SCOPE, VERSION);
  private readonly duration: Histogram = metrics.getMeter(HOST_SCOPE, VERSION).createHistogram(LAUNCH_DURATION, {
    description: 'Time from the start of a go-plugin plugin to its handshake line (or its failure).',
    unit: 's',
    advice: { explicitBucketBoundaries: LAUNCH_BUCKETS },
  });

  /**
   * Starts the launch span, a child of the active context. A launch that has no parent (no span is
   * active where the app starts the plugin) becomes the active context of the code that started it
   * from then on, so the host's work with the plugin (its gRPC client spans) is in the launch's
   * trace; a later launch from that same code starts a trace of its own.
   */
  start(): Launch {
    let parent = context.active();
    const parentSpan = trace.getSpan(parent);
    const enteredLaunch = parent.getValue(ENTERED_LAUNCH);
    if (enteredLaunch !== undefined && enteredLaunch === parentSpan) parent = ROOT_CONTEXT;
    const span = this.tracer.startSpan(
      LAUNCH_SPAN_NAME,
      { kind: SpanKind.INTERNAL, attributes: { 'rpcplugin.role': 'host' } },
      parent,
    );
    const launched = trace.setSpan(parent, span);
    if (trace.getSpan(parent) === undefined) enterContext(launched.setValue(ENTERED_LAUNCH, span));
    const startedAt = performance.now();
    let ended = false;
    const end = (outcome: Outcome) => {
      if (ended) return;
      ended = true;
      open.delete(endAtExit);
      const seconds = (performance.now() - startedAt) / 1000;
      span.setAttributes(outcome.attributes);
      if (outcome.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.message });
      span.end();
      this.duration.record(seconds, outcome.metricAttributes);
    };
    const endAtExit = () => end(failure('host_ended', HOST_ENDED_STATUS));
    open.add(endAtExit);
    return {
      context: launched,
      started: (child, command) => {
        span.setAttribute('process.command', command);
        if (typeof child.pid === 'number') span.setAttribute('process.pid', child.pid);
        try {
          observe(child, end);
        } catch {
          // A child of a shape we cannot watch: the span covers the start alone.
          end({ attributes: {}, metricAttributes: {} });
        }
      },
      failed: (error) => end(failure('error', describe(error))),
    };
  }
}

interface Outcome {
  readonly attributes: Attributes;
  readonly metricAttributes: Attributes;
  readonly error?: { readonly message: string };
}

function failure(type: string, message: string): Outcome {
  return { attributes: { 'error.type': type }, metricAttributes: { 'error.type': type }, error: { message } };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Ends the launch at the first of: the first stdout line, the stdout's end, the child's exit or error. */
function observe(child: LaunchedChild, end: (outcome: Outcome) => void): void {
  const stdout = child.stdout;
  if (!isPushingStream(stdout)) {
    // No piped stdout: the handshake cannot be seen, and the span covers the start alone.
    end({ attributes: {}, metricAttributes: {} });
    return;
  }
  // 'exit' and 'error' are seen through the child's own `emit`: a listener of ours for 'error'
  // would stop an error that nobody handles from being thrown, as it is without the agent.
  const hadOwn = Object.hasOwn(child, 'emit');
  const originalEmit = child.emit;
  const watchedEmit = function watchedEmit(this: unknown, event: string | symbol, ...args: unknown[]) {
    if (event === 'exit') {
      const [code, signal] = args;
      finish(failure('exit', `the plugin exited (${signal ?? `code ${code}`}) before its handshake line`));
    } else if (event === 'error') {
      finish(failure('error', describe(args[0])));
    }
    return originalEmit.call(this, event, ...args);
  };
  const watch = watchFirstLine(stdout, (line) => {
    if (line === undefined) return finish(failure('stdout_closed', STDOUT_CLOSED_STATUS));
    const handshake = parseHandshakeLine(line);
    if (handshake === undefined) return finish(failure('not_handshake', NOT_HANDSHAKE_STATUS));
    const transport = {
      'rpcplugin.handshake.transport': handshake.transport,
      'rpcplugin.handshake.protocol': handshake.protocol,
    };
    finish({
      attributes: {
        'rpcplugin.handshake.core_protocol_version': handshake.coreProtocolVersion,
        'rpcplugin.handshake.app_protocol_version': handshake.appProtocolVersion,
        ...transport,
        'rpcplugin.handshake.tls': handshake.tls,
        'rpcplugin.handshake.multiplex': handshake.multiplex,
      },
      metricAttributes: transport,
    });
  });
  function finish(outcome: Outcome) {
    watch.stop();
    if (child.emit === watchedEmit) {
      if (hadOwn) child.emit = originalEmit;
      else delete (child as Partial<LaunchedChild>).emit;
    }
    end(outcome);
  }
  child.emit = watchedEmit;
}
