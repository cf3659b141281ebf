/**
 * `tail --html FILE`: a self-contained HTML report (inline CSS, no script, no external assets) of
 * what the viewer kept: the waterfall of each trace, a latency histogram per RPC method (from the
 * spans' durations, drawn as inline SVG) and the log records.
 */
import { formatDuration, formatValue, kindName, notableAttributes, spanDurationNanos } from './format.ts';
import { type AssembledTrace, logTime, serviceOf, walk } from './model.ts';
import type { LogRecord, Span } from './otlp-types.ts';

export interface HtmlReport {
  traces: readonly AssembledTrace[];
  /** Log records made outside any trace. */
  logs: readonly LogRecord[];
  evictedTraces: number;
  generatedAt: Date;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function html(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] as string);
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1d1d1f;background:#fff}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin:1.5rem 0 .4rem}
.summary{color:#555}
.trace{border:1px solid #ddd;border-radius:6px;padding:.6rem .8rem;margin:1rem 0}
.trace h2{margin:0 0 .4rem;font-family:ui-monospace,monospace;font-size:.95rem}
ol.waterfall{list-style:none;margin:0;padding:0}
.span{display:grid;grid-template-columns:minmax(14rem,28%) 8rem 5rem 1fr 6rem;gap:.5rem;align-items:center;padding:1px 0}
.span .name{padding-left:calc(var(--depth)*1.1rem);white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-family:ui-monospace,monospace}
.span .service,.span .kind{color:#555;font-size:.85rem;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.track{position:relative;height:.9rem;background:#f3f3f5;border-radius:2px}
.track .bar{position:absolute;top:0;bottom:0;min-width:2px;background:#3b82f6;border-radius:2px}
.span.error .bar{background:#dc2626}.span.error .name{color:#dc2626}
.duration{text-align:right;font-variant-numeric:tabular-nums}
.attrs{grid-column:1/-1;padding-left:calc(var(--depth)*1.1rem + 1rem);color:#666;font-size:.8rem;font-family:ui-monospace,monospace}
.log{padding-left:calc(var(--depth)*1.1rem + 1rem);font-family:ui-monospace,monospace;font-size:.8rem;color:#333}
.log .severity{font-weight:600;margin-right:.5rem}
table{border-collapse:collapse;font-size:.85rem}td,th{border-bottom:1px solid #eee;padding:2px 8px;text-align:left;vertical-align:top}
#histograms{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem}
figure.method{margin:0}figure.method figcaption{font-size:.85rem;font-weight:600}
svg.histogram{display:block;margin:.3rem 0}svg.histogram rect{fill:#3b82f6}svg.histogram text{font:10px sans-serif;fill:#555}
`;

/** Histogram bucket upper bounds in ms (log scale); the last bucket is everything above. */
const BOUNDS_MS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

interface MethodLatencies {
  label: string;
  durationsMs: number[];
}

/** RPC spans grouped by service, kind and name: one histogram each. */
function latenciesByMethod(traces: readonly AssembledTrace[]): MethodLatencies[] {
  const groups = new Map<string, MethodLatencies>();
  for (const trace of traces) {
    for (const { node } of walk(trace.roots)) {
      const { span } = node;
      if (span.attributes['rpc.method'] === undefined) continue;
      const label = `${span.name} (${kindName(span.kind)}, ${serviceOf(span)})`;
      let group = groups.get(label);
      if (group === undefined) {
        group = { label, durationsMs: [] };
        groups.set(label, group);
      }
      group.durationsMs.push(Number(spanDurationNanos(span)) / 1e6);
    }
  }
  return [...groups.values()].sort((a, b) => a.label.localeCompare(b.label));
}

function histogramSvg(group: MethodLatencies): string {
  const counts = new Array<number>(BOUNDS_MS.length + 1).fill(0);
  for (const ms of group.durationsMs) {
    const index = BOUNDS_MS.findIndex((bound) => ms <= bound);
    counts[index < 0 ? BOUNDS_MS.length : index] = (counts[index < 0 ? BOUNDS_MS.length : index] ?? 0) + 1;
  }
  // Only the range of buckets that hold something, with one empty bucket either side for context.
  const first = Math.max(0, counts.findIndex((count) => count > 0) - 1);
  const last = Math.min(
    counts.length - 1,
    counts.length - 1 - [...counts].reverse().findIndex((count) => count > 0) + 1,
  );
  const shown = counts.slice(first, last + 1);
  const max = Math.max(...shown, 1);
  const barWidth = 44;
  const height = 90;
  const bars = shown
    .map((count, i) => {
      const index = first + i;
      const label = index === BOUNDS_MS.length ? `>${BOUNDS_MS.at(-1)}` : `≤${BOUNDS_MS[index]}`;
      const barHeight = Math.round((count / max) * (height - 30));
      const x = i * (barWidth + 4);
      return (
        `<g class="bucket" data-le="${html(label)}" data-count="${count}"><title>${html(label)} ms: ${count}</title>` +
        `<rect x="${x}" y="${height - 16 - barHeight}" width="${barWidth}" height="${barHeight}"></rect>` +
        `<text x="${x + barWidth / 2}" y="${height - 4}" text-anchor="middle">${html(label)}</text>` +
        `<text x="${x + barWidth / 2}" y="${height - 19 - barHeight}" text-anchor="middle">${count || ''}</text></g>`
      );
    })
    .join('');
  const width = shown.length * (barWidth + 4);
  return `<svg class="histogram" data-method="${html(group.label)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="latency histogram of ${html(group.label)}">${bars}</svg>`;
}

function logLine(record: LogRecord, depth: number, traceStart: bigint): string {
  const time = logTime(record);
  const offset = time > traceStart ? formatDuration(time - traceStart) : '0 ns';
  const attributes = Object.entries(record.attributes)
    .filter(([key]) => key !== 'trace_id' && key !== 'span_id' && key !== 'trace_flags')
    .map(([key, value]) => `${key}=${formatValue(value)}`)
    .join(' ');
  return (
    `<li class="log" style="--depth:${depth}" data-span-id="${html(record.spanId)}">` +
    `+${html(offset)} <span class="severity">${html(record.severityText || String(record.severityNumber))}</span>` +
    `${html(record.body === null ? '' : formatValue(record.body))} <span class="attrs-inline">${html(attributes)}</span></li>`
  );
}

function spanItem(span: Span, depth: number, trace: AssembledTrace, parentMissing: boolean): string {
  const total = Number(trace.endTimeUnixNano - trace.startTimeUnixNano) || 1;
  const left = (Number(span.startTimeUnixNano - trace.startTimeUnixNano) / total) * 100;
  const width = (Number(spanDurationNanos(span)) / total) * 100;
  const isError = span.status.code === 2;
  const attributes = notableAttributes(span);
  return (
    `<li class="span${isError ? ' error' : ''}" style="--depth:${depth}" data-span-id="${span.spanId}" data-parent-span-id="${span.parentSpanId}" data-depth="${depth}">` +
    `<span class="name" title="${html(span.name)}">${parentMissing ? '↑ ' : ''}${html(span.name)}</span>` +
    `<span class="service">${html(serviceOf(span))}</span><span class="kind">${kindName(span.kind)}</span>` +
    `<span class="track"><span class="bar" style="left:${left.toFixed(3)}%;width:${width.toFixed(3)}%"></span></span>` +
    `<span class="duration">${html(formatDuration(spanDurationNanos(span)))}</span>` +
    (attributes.length > 0 ? `<span class="attrs">${html(attributes.join('  '))}</span>` : '') +
    '</li>'
  );
}

function traceSection(trace: AssembledTrace): string {
  const items: string[] = [];
  for (const { node, depth } of walk(trace.roots)) {
    items.push(spanItem(node.span, depth, trace, node.parentMissing));
    for (const record of node.logs) items.push(logLine(record, depth + 1, trace.startTimeUnixNano));
  }
  for (const record of trace.logs) items.push(logLine(record, 0, trace.startTimeUnixNano));
  const root = trace.roots[0]?.span.name ?? '(log records only)';
  const duration = trace.endTimeUnixNano - trace.startTimeUnixNano;
  return (
    `<section class="trace" data-trace-id="${trace.traceId}"><h2>${html(root)} · ${trace.spanCount} span${trace.spanCount === 1 ? '' : 's'} · ` +
    `${html(trace.services.join(', '))} · ${html(formatDuration(duration > 0n ? duration : 0n))} ` +
    `<small>${trace.traceId}</small></h2><ol class="waterfall">${items.join('')}</ol></section>`
  );
}

function logTable(traces: readonly AssembledTrace[], standalone: readonly LogRecord[]): string {
  const records = [
    ...traces.flatMap((trace) => [...walk(trace.roots)].flatMap(({ node }) => node.logs).concat(trace.logs)),
    ...standalone,
  ].sort((a, b) => (logTime(a) < logTime(b) ? -1 : logTime(a) > logTime(b) ? 1 : 0));
  if (records.length === 0) return '<p>No log records received.</p>';
  const rows = records.map(
    (record) =>
      `<tr class="log-record"><td>${html(new Date(Number(logTime(record) / 1_000_000n)).toISOString())}</td>` +
      `<td>${html(serviceOf(record))}</td><td>${html(record.severityText || String(record.severityNumber))}</td>` +
      `<td>${html(record.body === null ? '' : formatValue(record.body))}</td><td>${record.traceId.slice(0, 8)}</td></tr>`,
  );
  return `<table class="logs"><thead><tr><th>time</th><th>service</th><th>severity</th><th>body</th><th>trace</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function renderHtmlReport(report: HtmlReport): string {
  const { traces, logs, evictedTraces, generatedAt } = report;
  const methods = latenciesByMethod(traces);
  const histograms =
    methods.length === 0
      ? '<p>No RPC spans received.</p>'
      : methods
          .map(
            (group) =>
              `<figure class="method"><figcaption>${html(group.label)} · ${group.durationsMs.length} call${group.durationsMs.length === 1 ? '' : 's'} (ms)</figcaption>${histogramSvg(group)}</figure>`,
          )
          .join('');
  const spanCount = traces.reduce((sum, trace) => sum + trace.spanCount, 0);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>rpcplugin-telemetry tail report</title><style>${STYLE}</style></head>
<body>
<h1>rpcplugin-telemetry tail</h1>
<p class="summary">${traces.length} trace${traces.length === 1 ? '' : 's'}, ${spanCount} spans, written ${html(generatedAt.toISOString())}${
    evictedTraces > 0 ? `; ${evictedTraces} older traces were evicted to bound memory and are not shown` : ''
  }.</p>
<h2>Traces</h2>
<div id="traces">${traces.map(traceSection).join('\n')}</div>
<h2>Latency per RPC method</h2>
<div id="histograms">${histograms}</div>
<h2>Log records</h2>
<div id="logs">${logTable(traces, logs)}</div>
</body></html>
`;
}
