/**
 * `rpcplugin-telemetry tail`: a local OTLP/HTTP receiver on the agent's default endpoint that shows
 * what arrives, for a person (trace trees, log records, a metrics summary) or, with --json, for a
 * script; with --html it also writes a report when it stops. The receiving (src/viewer/receiver.ts),
 * the model (model.ts) and the renderers (render-*.ts) are separate; this file wires them to the
 * terminal, the flags and the signals.
 */
import { writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import process from 'node:process';
import { type Filter, logMatches, metricMatches, parseFilter, spanMatches, traceMatches } from '../viewer/filter.ts';
import { MetricsDigester } from '../viewer/metrics-digest.ts';
import { DEFAULT_LIMITS, TraceModel } from '../viewer/model.ts';
import type { DecodedRequest, LogRecord, Signal } from '../viewer/otlp-types.ts';
import { createOtlpHttpServer, DEFAULT_MAX_BODY_BYTES, listen } from '../viewer/receiver.ts';
import { renderHtmlReport } from '../viewer/render-html.ts';
import { logRecord, metricRecords, spanRecord } from '../viewer/render-json.ts';
import {
  renderLog,
  renderMetrics,
  renderNotice,
  renderTrace,
  type TerminalOptions,
} from '../viewer/render-terminal.ts';

export const TAIL_USAGE = `Usage: rpcplugin-telemetry tail [options]

Receives OTLP/HTTP (protobuf or JSON, gzip) on /v1/traces, /v1/metrics and /v1/logs and shows it:
each trace as a tree once it is complete, log records under their spans, a metrics summary per
export. An app started with the preload and default settings exports here.

Options:
  --port N           Port to listen on (default 4318, the OTLP/HTTP default; 0 picks a free one).
  --host H           Address to listen on (default localhost: 127.0.0.1 and ::1).
  --json             One JSON object per line for each span, log record and metric point, as received.
  --filter K=V,...   Show only what matches: service=NAME (resource service.name), name=SPAN_NAME;
                     '*' matches anything. name= selects spans; logs and metrics go by service.
  --html FILE        Also write a self-contained HTML report to FILE when stopping.
  --exit-after S     Stop after S seconds (otherwise Ctrl-C stops).
  --quiet-ms N       A trace without its root is shown after N ms without news (default ${DEFAULT_LIMITS.quietMs}).
  --max-traces N     Traces kept in memory; the oldest are evicted beyond (default ${DEFAULT_LIMITS.maxTraces}).
  -h, --help         Show this help.

Limits: ${DEFAULT_LIMITS.maxSpansPerTrace} spans and ${DEFAULT_LIMITS.maxLogsPerTrace} log records per trace (more are rejected, as
OTLP partial success); request bodies up to ${DEFAULT_MAX_BODY_BYTES / 1024 / 1024} MiB, before and after gzip (larger: 413).
`;

interface TailOptions {
  port: number;
  host: string;
  json: boolean;
  filter: Filter;
  html?: string;
  exitAfterMs?: number;
  quietMs: number;
  maxTraces: number;
}

type Parsed = { options: TailOptions } | { help: true } | { error: string };

function integer(text: string | undefined, name: string, min: number, max: number): number | string {
  const value = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    return `${name} takes an integer from ${min} to ${max}, not ${JSON.stringify(text ?? '')}`;
  }
  return value;
}

export function parseTailArgs(args: readonly string[]): Parsed {
  const options: TailOptions = {
    port: 4318,
    host: 'localhost',
    json: false,
    filter: {},
    quietMs: DEFAULT_LIMITS.quietMs,
    maxTraces: DEFAULT_LIMITS.maxTraces,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const value = () => (eq < 0 ? args[++i] : arg.slice(eq + 1));
    const numeric = (min: number, max: number): number | string => integer(value(), name, min, max);
    let result: number | string | undefined;
    switch (name) {
      case '-h':
      case '--help':
        return { help: true };
      case '--json':
        options.json = true;
        break;
      case '--port':
        result = numeric(0, 65535);
        if (typeof result === 'number') options.port = result;
        break;
      case '--host': {
        const host = value();
        if (host === undefined || host === '') return { error: '--host takes an address, e.g. 127.0.0.1' };
        options.host = host;
        break;
      }
      case '--filter': {
        const text = value();
        const error = parseFilter(text ?? '', options.filter);
        if (error !== undefined) return { error };
        break;
      }
      case '--html': {
        const file = value();
        if (file === undefined || file === '') return { error: '--html takes a file name' };
        options.html = file;
        break;
      }
      case '--exit-after': {
        const text = value();
        const seconds = Number(text);
        if (text === undefined || text.trim() === '' || !Number.isFinite(seconds) || seconds <= 0) {
          return { error: `--exit-after takes a number of seconds above 0, not ${JSON.stringify(text ?? '')}` };
        }
        options.exitAfterMs = seconds * 1000;
        break;
      }
      case '--quiet-ms':
        result = numeric(0, 3_600_000);
        if (typeof result === 'number') options.quietMs = result;
        break;
      case '--max-traces':
        result = numeric(1, 1_000_000);
        if (typeof result === 'number') options.maxTraces = result;
        break;
      default:
        return { error: `unknown option for tail: ${arg}` };
    }
    if (typeof result === 'string') return { error: result };
  }
  return { options };
}

/** `localhost` is both loopback addresses: apps resolve it to either, depending on runtime and system. */
function listenHosts(host: string): { required: string[]; optional: string[] } {
  return host === 'localhost' ? { required: ['127.0.0.1'], optional: ['::1'] } : { required: [host], optional: [] };
}

function listenError(error: NodeJS.ErrnoException, options: TailOptions): string {
  const where = `port ${options.port} on ${options.host}`;
  if (error.code === 'EADDRINUSE') {
    const other = options.port === 65535 ? 4319 : options.port + 1;
    return (
      `${where} is already in use (another collector, or another tail?). ` +
      `Pick another port with --port, e.g. --port ${other}, and point the app at it with ` +
      `OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:${other}`
    );
  }
  if (error.code === 'EACCES') return `not allowed to listen on ${where}; pick a port above 1023 with --port`;
  if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') {
    return `cannot listen on ${options.host}: no such local address; give one of this machine's addresses with --host`;
  }
  return `cannot listen on ${where}: ${error.message}`;
}

const MAX_REFUSALS_SHOWN = 10;

export async function runTailCommand(args: readonly string[]): Promise<number> {
  const parsed = parseTailArgs(args);
  if ('help' in parsed) {
    process.stdout.write(TAIL_USAGE);
    return 0;
  }
  if ('error' in parsed) {
    process.stderr.write(`rpcplugin-telemetry: tail: ${parsed.error}\n\n${TAIL_USAGE}`);
    return 2;
  }
  const { options } = parsed;
  const out = process.stdout;
  const color = out.isTTY === true && (process.env.NO_COLOR ?? '') === '';
  const terminal = (): TerminalOptions => ({ width: out.isTTY === true && out.columns > 0 ? out.columns : 100, color });
  const write = (text: string) => {
    if (text !== '' && out.writable) out.write(text);
  };
  const notice = (text: string) => process.stderr.write(`rpcplugin-telemetry: tail: ${text}\n`);

  const model = new TraceModel({ ...DEFAULT_LIMITS, quietMs: options.quietMs, maxTraces: options.maxTraces });
  const digester = new MetricsDigester();
  const standaloneLogs: LogRecord[] = [];
  const counts = { spans: 0, logs: 0, metricExports: 0, refused: 0 };
  let evictedShown = 0;

  const onExport = (signal: Signal, decoded: DecodedRequest) => {
    const { filter } = options;
    if (signal === 'traces') {
      counts.spans += decoded.spans.length;
      if (options.json) for (const span of decoded.spans) if (spanMatches(filter, span)) write(`${spanRecord(span)}\n`);
      const accepted = model.addSpans(decoded.spans);
      return { rejected: accepted.rejected, message: accepted.rejectedReason };
    }
    if (signal === 'logs') {
      counts.logs += decoded.logs.length;
      if (options.json)
        for (const record of decoded.logs) if (logMatches(filter, record)) write(`${logRecord(record)}\n`);
      const accepted = model.addLogs(decoded.logs);
      for (const record of accepted.standalone) {
        standaloneLogs.push(record);
        if (standaloneLogs.length > DEFAULT_LIMITS.maxLogsPerTrace) standaloneLogs.shift();
        if (!options.json && logMatches(filter, record)) write(renderLog(record, terminal()));
      }
      return { rejected: accepted.rejected, message: accepted.rejectedReason };
    }
    counts.metricExports++;
    const metrics = decoded.metrics.filter((metric) => metricMatches(filter, metric));
    if (options.json) for (const metric of metrics) for (const line of metricRecords(metric)) write(`${line}\n`);
    else write(renderMetrics(digester.digest(metrics), terminal()));
    return { rejected: 0, message: '' };
  };
  const onRefused = (status: number, reason: string) => {
    counts.refused++;
    if (counts.refused <= MAX_REFUSALS_SHOWN) notice(`refused a request (${status}): ${reason}`);
    if (counts.refused === MAX_REFUSALS_SHOWN) notice('further refused requests are only counted');
  };

  const { required, optional } = listenHosts(options.host);
  const makeServer = () => createOtlpHttpServer({ onExport, onRefused });
  let servers: Server[];
  try {
    servers = await listen(makeServer, required, options.port);
  } catch (error) {
    notice(listenError(error as NodeJS.ErrnoException, options));
    return 1;
  }
  const address = servers[0]?.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  for (const host of optional) {
    try {
      servers.push(...(await listen(makeServer, [host], port)));
    } catch {
      // No IPv6 loopback here (or it is taken): apps reach 127.0.0.1.
    }
  }
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  notice(
    `listening on http://${shownHost}:${port} for OTLP/HTTP (/v1/traces, /v1/metrics, /v1/logs). ` +
      `Start an app with the preload; ${options.exitAfterMs === undefined ? 'Ctrl-C stops' : `stopping after ${options.exitAfterMs / 1000} s`}.`,
  );

  const showTraces = (traces: ReturnType<TraceModel['takeComplete']>) => {
    if (options.json) return;
    for (const trace of traces) if (traceMatches(options.filter, trace)) write(renderTrace(trace, terminal()));
    if (model.evicted > evictedShown) {
      evictedShown = model.evicted;
      write(
        renderNotice(
          `(${model.evicted} older traces evicted so far: at most ${options.maxTraces} are kept; --max-traces)`,
          terminal(),
        ),
      );
    }
  };
  const ticker = setInterval(() => showTraces(model.takeComplete()), 100);

  return new Promise<number>((resolve) => {
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      clearInterval(ticker);
      clearTimeout(exitTimer);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      let exitCode = 0;
      Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((done) => {
              server.close(() => done());
              server.closeAllConnections();
            }),
        ),
      ).then(() => {
        showTraces(model.takePending());
        if (options.html !== undefined) {
          const traces = model.all().filter((trace) => traceMatches(options.filter, trace));
          const logs = standaloneLogs.filter((record) => logMatches(options.filter, record));
          try {
            writeFileSync(
              options.html,
              renderHtmlReport({ traces, logs, evictedTraces: model.evicted, generatedAt: new Date() }),
            );
            notice(`wrote the HTML report to ${options.html} (${traces.length} traces)`);
          } catch (error) {
            notice(`cannot write the HTML report to ${options.html}: ${(error as Error).message}`);
            exitCode = 1;
          }
        }
        notice(
          `received ${counts.spans} spans, ${counts.logs} log records, ${counts.metricExports} metric exports` +
            `${counts.refused > 0 ? `; refused ${counts.refused} requests` : ''}` +
            `${model.evicted > 0 ? `; evicted ${model.evicted} traces` : ''}`,
        );
        resolve(exitCode);
      });
    };
    const exitTimer = options.exitAfterMs === undefined ? undefined : setTimeout(stop, options.exitAfterMs);
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    // A reader that went away (`| head`) ends the viewing.
    out.on('error', stop);
  });
}
